"""Security incident phases (NIST SP 800-61, mapped to CSF 2.0), containment checklists from templates, and the forensics-first nudge (issue 17)."""
