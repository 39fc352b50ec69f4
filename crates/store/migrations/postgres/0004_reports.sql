-- Transfer reports and /metrics: what was booked in a period (by the time of the transition
-- to booked) and how many calls a system was sent in a period.
CREATE INDEX document_transitions_to_state ON document_transitions (to_state, at);
CREATE INDEX audit_log_system ON audit_log (connection_id, system, at);
