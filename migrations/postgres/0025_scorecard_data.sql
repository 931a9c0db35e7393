-- motcua schema, version 25 (PostgreSQL): what the scorecard's indicators need of each dossier,
-- projected from its events (core's `Dossier`): the fee of its payment request, how it was
-- paid and when, whether its result was issued electronically, how many of its papers were
-- digitised, when it was first sent to the national portal, and the reason code of its latest
-- delay (supplement request, new appointment, stop or refusal).
--
-- Every column is nullable and stays NULL on the rows already here: NULL is "not recorded"
-- (a dossier from before these events existed), never zero, never a payment method. `motcua
-- recompute` fills them from the log. Adding nullable columns without a default rewrites
-- nothing.
ALTER TABLE dossiers
    ADD COLUMN fee_vnd bigint CHECK (fee_vnd >= 0),
    ADD COLUMN payment_method text CHECK (payment_method IN ('cash', 'bank_transfer', 'online', 'exempt')),
    ADD COLUMN paid_at timestamptz,
    ADD COLUMN electronic_result boolean,
    ADD COLUMN digitised integer CHECK (digitised >= 0),
    ADD COLUMN synced_at timestamptz,
    ADD COLUMN delay_reason text;

-- The payment gateway's integration role (`payment`): through its API token it may only mark a
-- dossier paid (the server decides; the schema only names the roles an account may have).
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('desk', 'agency', 'head', 'chair', 'admin', 'inspector', 'payment'));
