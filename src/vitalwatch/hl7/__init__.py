"""HL7 v2 over MLLP: bedside monitors and gateways (IHE PCD-01, PCD-04)."""
