-- A compatibility matrix as a bmslink with schema version 1 wrote it (before reference runs,
-- schema 2): tests/peers/matrix_sqlite.sh builds a file from it with the sqlite3 shell and
-- checks that bmslink migrates it forward and keeps every row.
BEGIN;
CREATE TABLE runs (
  run_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  battery TEXT NOT NULL,
  battery_protocol TEXT,
  battery_manufacturer TEXT,
  battery_model TEXT,
  battery_firmware TEXT,
  scenario TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('simulated', 'live')),
  bmslink_version TEXT NOT NULL);
CREATE TABLE results (
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  inverter TEXT NOT NULL,
  inverter_model TEXT NOT NULL,
  interface TEXT NOT NULL,
  protocol TEXT NOT NULL,
  battery_protocol TEXT NOT NULL,
  firmware TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pass', 'partial', 'fail', 'untested')),
  note TEXT NOT NULL,
  tested_at TEXT NOT NULL,
  session_s REAL NOT NULL,
  PRIMARY KEY (run_id, inverter));
CREATE TABLE settings (
  run_id INTEGER NOT NULL,
  inverter TEXT NOT NULL,
  seq INTEGER NOT NULL,
  setting TEXT NOT NULL,
  PRIMARY KEY (run_id, inverter, seq),
  FOREIGN KEY (run_id, inverter) REFERENCES results(run_id, inverter) ON DELETE CASCADE);
CREATE TABLE checks (
  run_id INTEGER NOT NULL,
  inverter TEXT NOT NULL,
  check_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skip')),
  at_s REAL,
  expected TEXT NOT NULL,
  observed TEXT NOT NULL,
  PRIMARY KEY (run_id, inverter, check_id),
  FOREIGN KEY (run_id, inverter) REFERENCES results(run_id, inverter) ON DELETE CASCADE);
CREATE TABLE evidence (
  run_id INTEGER NOT NULL,
  inverter TEXT NOT NULL,
  check_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  t_s REAL NOT NULL,
  side TEXT NOT NULL,
  frame TEXT NOT NULL,
  what TEXT NOT NULL,
  PRIMARY KEY (run_id, inverter, check_id, seq),
  FOREIGN KEY (run_id, inverter, check_id) REFERENCES checks(run_id, inverter, check_id) ON DELETE CASCADE);
INSERT INTO runs VALUES (1, '2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z', 'sim:pylon-lv', 'pylon-lv',
  'BMSLINK', 'SIM-16S-200AH', '1.0', 'validation', 'simulated', '0.1.0');
INSERT INTO results VALUES (1, 'generic-pylon-lv', 'generic any Pylon-CAN 48 V inverter', 'CAN 500 kbit/s, pylon-lv',
  'pylon-lv', 'pylon-lv', 'reference', 'pass', '', '2024-05-01T10:00:01Z', 1800.0);
INSERT INTO settings VALUES (1, 'generic-pylon-lv', 0, 'battery_type = Pylon CAN');
INSERT INTO checks VALUES (1, 'generic-pylon-lv', 'detect', 'pass', 0.0, 'running within 10 s', 'running at 00:00:00');
INSERT INTO checks VALUES (1, 'generic-pylon-lv', 'soc', 'pass', 4.0, 'soc_pct shown', '1554 samples within tolerance');
INSERT INTO evidence VALUES (1, 'generic-pylon-lv', 'detect', 0, 0.0, 'battery', '0x351 2802E803E803E001', 'detected');
PRAGMA user_version = 1;
COMMIT;
