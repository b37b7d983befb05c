"""IEEE 11073 SDC: monitors found on the network, bound by an admin, read as samples."""
