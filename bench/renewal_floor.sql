-- pgbench script: the floor of a renewal's cost in the database. Every row a renewal writes
-- (the line's update, its history, ledger, renewal, receipt and confirmation SMS, and the
-- withdrawal of its unsent expiry notices), written by ONE statement (a data-modifying CTE) in
-- an implicit transaction: one round trip, one commit, no locking read before it and no client
-- code at all. bench/renewal_core.py runs it with `-M prepared -n -D lines=N` on the bench
-- database, next to renewal_replay.sql (the SQL a renewal sends today), so RESULTS.md shows
-- what the database alone allows with this schema: no client writes a renewal faster.
--
-- Money stays consistent (the paid bucket, its ledger row and the renewal agree), so the audit
-- after the run still holds. Cash at a store: 5.000 KWD credited, no bonus.
\set n random(0, :lines - 1)
\set r random(1, 999999999999)
WITH l AS (
  UPDATE lines
     SET valid_until = least(greatest(valid_until, now()) + interval '30 days', now() + interval '90 days'),
         balance_fils = balance_fils + 5000, paid_fils = paid_fils + 5000,
         version = version + 1, updated_at = now()
   WHERE msisdn = '+9655' || lpad(:n::text, 7, '0')
  RETURNING msisdn, operator_code, plan_code, balance_fils, valid_until
), c AS (
  UPDATE outbox SET state = 'cancelled', last_error = 'the line was renewed before it was sent'
   WHERE recipient IN (SELECT msisdn FROM l) AND state = 'pending'
     AND template IN ('reminder', 'grace_started', 'suspended', 'recycle_warning')
), h AS (
  INSERT INTO line_history (id, msisdn, at, event, from_state, to_state, renewal_id, details)
  SELECT 'h-' || :client_id || '-' || :r, msisdn, now(), 'renewal', 'active', 'active',
         'r-' || :client_id || '-' || :r,
         '{"package": "kd5", "credit_fils": 5000, "bonus_fils": 0, "receipt_no": "R1M89N2YT700RC67Q5", "channel": "store"}'::json
    FROM l
), e AS (
  INSERT INTO ledger_entries (id, msisdn, at, bucket, kind, amount_fils, balance_after_fils, renewal_id)
  SELECT 'e-' || :client_id || '-' || :r, msisdn, now(), 'paid', 'renewal_credit', 5000, balance_fils,
         'r-' || :client_id || '-' || :r FROM l
), rn AS (
  INSERT INTO renewals (id, msisdn, idempotency_scope, idempotency_key, request_hash, channel,
                      operator_code, plan_code, package_code, quote_id, state, payment_method,
                      payment_state, payment_ref, price_fils, discount_fils, bonus_fils,
                      fee_fils, total_fils, credit_fils, promotions, valid_until_before,
                      valid_until_after, balance_after_fils, receipt_no, created_at, credited_at)
  SELECT 'r-' || :client_id || '-' || :r, msisdn, 'pgbench-floor', 'k-' || :client_id || '-' || :r,
         'b6e1f0c2a6d54f1e9f8a7b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e', 'store',
         operator_code, plan_code, 'kd5', NULL, 'credited', 'cash', 'captured', NULL,
         5000, 0, 0, 0, 5000, 5000, '[]'::json, now(), valid_until, balance_fils,
         'P' || :client_id || '-' || :r, now(), now() FROM l
  RETURNING id
), rc AS (
  INSERT INTO receipts (receipt_no, renewal_id, msisdn, issued_at, verification_code, data)
  SELECT 'P' || :client_id || '-' || :r, 'r-' || :client_id || '-' || :r, msisdn, now(), 'CF5SHVFXPZ',
         '{"operator": "zahra", "operator_name": "Zahra Telecom", "package_code": "kd5", "package_name": "Monthly 5 KD", "channel": "store", "payment_method": "cash", "price_fils": 5000, "discount_fils": 0, "fee_fils": 0, "total_fils": 5000, "credit_fils": 5000, "bonus_fils": 0, "promotions": [], "balance_after_fils": 9123, "valid_until": "2027-01-24T15:25:41.187569+00:00"}'::json
    FROM l
), o AS (
  INSERT INTO outbox (id, msisdn, recipient, lane, template, language, params, body, state,
                      attempts, next_attempt_at, created_at)
  SELECT 'o-' || :client_id || '-' || :r, msisdn, msisdn, 'priority', 'renewal_confirmation', 'en',
         '{"operator": "Zahra Telecom", "msisdn": "+96550000000", "credit": "5.000 KWD", "balance": "9.123 KWD", "valid_until": "2027-01-24 18:25", "receipt_no": "R1M89N2YT700RC67Q5"}'::json,
         'Zahra Telecom: 5.000 KWD credited to +96550000000. Balance 9.123 KWD, valid until 2027-01-24 18:25. Receipt R1M89N2YT700RC67Q5.',
         'pending', 0, now(), now() FROM l
)
SELECT count(*) FROM l;
