-- pgbench script: the SQL that one `credit_renewal` sends today, replayed by pgbench without
-- Python. bench/renewal_core.py runs it with `-M prepared -n -D lines=N` on the bench database
-- (lines are numbered +96550000000, +96550000001, ...), so RESULTS.md can split a renewal's
-- time into "the database doing this SQL" and "our Python around it".
--
-- Written by hand from the statement list that the benchmark traces (the "What one renewal
-- sends to PostgreSQL" table in RESULTS.md): when that list changes, change this file too.
-- A renewal sends two statements in its transaction: the locking read, and at commit every
-- write in one data-modifying WITH (simrenew.db.deferred), in the order the service made them.
-- Money stays consistent (the line's paid bucket, its ledger row and the renewal agree), so the
-- audit after the run still holds. Cash at a store: 5.000 KWD credited, no bonus.
\set n random(0, :lines - 1)
\set r random(1, 999999999999)
BEGIN;
-- One locking read: the line, its subscriber's language, the catalog version (the catalog
-- itself is cached in the process) and any renewal already made under this idempotency key.
SELECT lines.msisdn, lines.iccid, lines.operator_code, lines.plan_code, lines.customer_id,
       lines.state, lines.state_since, lines.valid_until, lines.balance_fils, lines.paid_fils,
       lines.bonus_fils, lines.bonus_expires_at, lines.version, lines.created_at,
       lines.updated_at, customers.language,
       (SELECT version FROM catalog_version WHERE name = 'catalog') AS catalog_version,
       (SELECT id FROM renewals WHERE idempotency_scope = 'pgbench-replay'
           AND idempotency_key = 'k-' || :client_id || '-' || :r) AS done_id,
       (SELECT request_hash FROM renewals WHERE idempotency_scope = 'pgbench-replay'
           AND idempotency_key = 'k-' || :client_id || '-' || :r) AS done_hash
  FROM lines LEFT OUTER JOIN customers ON customers.id = lines.customer_id
 WHERE lines.msisdn = '+9655' || lpad(:n::text, 7, '0') FOR UPDATE OF lines \gset l_
-- Every write, held until commit and sent as one statement, in the service's order.
WITH w0 AS (
  INSERT INTO ledger_entries (id, msisdn, at, bucket, kind, amount_fils, balance_after_fils,
                              renewal_id)
  VALUES ('e-' || :client_id || '-' || :r, :l_msisdn, now(), 'paid', 'renewal_credit', 5000,
          :l_balance_fils + 5000, 'r-' || :client_id || '-' || :r)
), w1 AS (
  INSERT INTO line_history (id, msisdn, at, event, from_state, to_state, renewal_id, details)
  VALUES ('h-' || :client_id || '-' || :r, :l_msisdn, now(), 'renewal', 'active', 'active',
          'r-' || :client_id || '-' || :r,
          '{"package": "kd5", "credit_fils": 5000, "bonus_fils": 0, "receipt_no": "R1M89N2YT700RC67Q5", "channel": "store"}')
), w2 AS (
  INSERT INTO renewals (id, msisdn, idempotency_scope, idempotency_key, request_hash, channel,
                        operator_code, plan_code, package_code, kind, state, payment_method,
                        payment_state, price_fils, discount_fils, bonus_fils, fee_fils,
                        total_fils, credit_fils, promotions, valid_until_before,
                        valid_until_after, balance_after_fils, receipt_no, created_at,
                        credited_at)
  VALUES ('r-' || :client_id || '-' || :r, :l_msisdn, 'pgbench-replay',
          'k-' || :client_id || '-' || :r,
          'b6e1f0c2a6d54f1e9f8a7b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e', 'store',
          :l_operator_code, :l_plan_code, 'kd5', 'renewal', 'credited', 'cash', 'captured',
          5000, 0, 0, 0, 5000, 5000, '[]', now(), now() + interval '30 days',
          :l_balance_fils + 5000, 'P' || :client_id || '-' || :r, now(), now())
), w3 AS (
  INSERT INTO receipts (receipt_no, renewal_id, msisdn, issued_at, verification_code, data)
  VALUES ('P' || :client_id || '-' || :r, 'r-' || :client_id || '-' || :r, :l_msisdn, now(),
          'CF5SHVFXPZ',
          '{"operator": "zahra", "operator_name": "Zahra Telecom", "package_code": "kd5", "package_name": "Monthly 5 KD", "channel": "store", "payment_method": "cash", "price_fils": 5000, "discount_fils": 0, "fee_fils": 0, "total_fils": 5000, "credit_fils": 5000, "bonus_fils": 0, "promotions": [], "balance_after_fils": 9123, "valid_until": "2027-01-24T15:25:41.187569+00:00"}')
), w4 AS (
  INSERT INTO outbox (id, msisdn, recipient, lane, template, language, params, body, state,
                      attempts, next_attempt_at, created_at)
  VALUES ('o-' || :client_id || '-' || :r, :l_msisdn, :l_msisdn, 'priority',
          'renewal_confirmation', 'en',
          '{"operator": "Zahra Telecom", "msisdn": "+96550000000", "credit": "5.000 KWD", "balance": "9.123 KWD", "valid_until": "2027-01-24 18:25", "receipt_no": "R1M89N2YT700RC67Q5"}',
          'Zahra Telecom: 5.000 KWD credited to +96550000000. Balance 9.123 KWD, valid until 2027-01-24 18:25. Receipt R1M89N2YT700RC67Q5.',
          'pending', 0, now(), now())
), w5 AS (
  -- The line's unsent reminders and expiry notices are withdrawn: the renewal made them untrue.
  UPDATE outbox
     SET state = 'cancelled', last_error = 'the line was renewed before it was sent'
   WHERE recipient = :l_msisdn AND state = 'pending'
     AND template IN ('reminder', 'grace_started', 'suspended', 'recycle_warning')
)
UPDATE lines
   SET valid_until = least(greatest(valid_until, now()) + interval '30 days',
                           now() + interval '90 days'),
       balance_fils = balance_fils + 5000, paid_fils = paid_fils + 5000,
       version = version + 1, updated_at = now()
 WHERE msisdn = :l_msisdn;
END;
