"""After initial sync (step 9): our output reconciled with F&O's exports, and initial-sync error
logs triaged by cause (pandas: imported only when used)."""
