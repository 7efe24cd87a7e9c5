"""Files in and out: exports read as batches of text (CSV, xlsx), outputs written safely (CSV,
xlsx, an xlsx filled in place, zip packages), the F&O customer list, text hashes and formulas."""
