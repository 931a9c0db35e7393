-- motcua schema, version 25 (SQLite): what the scorecard's indicators need of each dossier,
-- projected from its events (core's `Dossier`): the fee of its payment request, how it was
-- paid and when, whether its result was issued electronically, how many of its papers were
-- digitised, when it was first sent to the national portal, and the reason code of its latest
-- delay (supplement request, new appointment, stop or refusal).
--
-- Every column is nullable and stays NULL on the rows already here: NULL is "not recorded"
-- (a dossier from before these events existed), never zero, never a payment method. `motcua
-- recompute` fills them from the log.
ALTER TABLE dossiers ADD COLUMN fee_vnd INTEGER CHECK (fee_vnd >= 0);
ALTER TABLE dossiers ADD COLUMN payment_method TEXT
    CHECK (payment_method IN ('cash', 'bank_transfer', 'online', 'exempt'));
ALTER TABLE dossiers ADD COLUMN paid_at TEXT;
ALTER TABLE dossiers ADD COLUMN electronic_result INTEGER CHECK (electronic_result IN (0, 1));
ALTER TABLE dossiers ADD COLUMN digitised INTEGER CHECK (digitised >= 0);
ALTER TABLE dossiers ADD COLUMN synced_at TEXT;
ALTER TABLE dossiers ADD COLUMN delay_reason TEXT;
