"""Reports for the clinical lead: the alarm load a clinic tunes its limits with."""
