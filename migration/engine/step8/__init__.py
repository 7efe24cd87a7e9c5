"""Step 8: an export through its table's rules (one file or parts, merged with the step-2 export
on the import route), the import pack cut to the wizard's limit, the import verified, the issues
file extracted."""
