// Money, dates, transaction events and the CSV parser live in LedgerDomain, which has no TLS, crypto or SQLite
// behind it (the fuzz targets build it alone); whoever imports Ledger sees them as before.
@_exported import LedgerDomain
