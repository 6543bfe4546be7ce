// Private to cloud/registry: the SQLite schema as numbered migrations. Never edit a released
// migration; append a new one.
#pragma once

#include <vector>

#include "hadmc/db/sqlite.h"

namespace hadmc::registry {

inline const std::vector<db::Migration>& SchemaMigrations() {
  static const std::vector<db::Migration> migrations = {
      {1, R"sql(
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE versions (
  model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER NOT NULL CHECK (version >= 1),
  parent INTEGER NOT NULL,
  manifest TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  file_size INTEGER NOT NULL,
  graph_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (model_id, version)
);
-- Published versions are immutable: devices cache them by (model, version).
CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;
CREATE TRIGGER versions_undeletable BEFORE DELETE ON versions
BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;
CREATE TABLE channels (
  model_id INTEGER NOT NULL REFERENCES models(id),
  name TEXT NOT NULL,
  PRIMARY KEY (model_id, name)
);
CREATE TABLE rollouts (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL,
  channel TEXT NOT NULL,
  version INTEGER NOT NULL,
  percent REAL NOT NULL CHECK (percent >= 0 AND percent <= 100),
  device_filter TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
  FOREIGN KEY (model_id, channel) REFERENCES channels(model_id, name),
  FOREIGN KEY (model_id, version) REFERENCES versions(model_id, version)
);
CREATE INDEX rollouts_by_channel ON rollouts(model_id, channel, id);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  device_class TEXT NOT NULL DEFAULT '',
  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
  last_seen TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT '',
  health TEXT NOT NULL DEFAULT '',
  p50_ms REAL NOT NULL DEFAULT 0,
  p99_ms REAL NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE heartbeats (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices(id),
  at TEXT NOT NULL,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  health TEXT NOT NULL,
  p50_ms REAL NOT NULL,
  p99_ms REAL NOT NULL,
  errors INTEGER NOT NULL
);
CREATE INDEX heartbeats_by_device ON heartbeats(device_id, id);
CREATE TABLE latency_reports (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices(id),
  device_class TEXT NOT NULL,
  at TEXT NOT NULL,
  key TEXT NOT NULL,
  ms REAL NOT NULL
);
CREATE INDEX latency_by_class ON latency_reports(device_class, key);
CREATE TABLE admin_tokens (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
)sql"},
      // Heartbeat fields added with the edge daemon (issue 5): what the device reported about
      // itself. -1: not reported.
      {2, R"sql(
ALTER TABLE devices ADD COLUMN uptime_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN inferences INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN free_disk_bytes INTEGER NOT NULL DEFAULT -1;
ALTER TABLE devices ADD COLUMN free_memory_bytes INTEGER NOT NULL DEFAULT -1;
ALTER TABLE devices ADD COLUMN reported_class TEXT NOT NULL DEFAULT '';
)sql"},
      // The latency LUT (issue 6). latency_reports (one bare ms per free-form key) is replaced:
      // its keys were not KernelKeys and it had no p90 or run counts, so nothing in it can be
      // merged into the new entries. lut_reports keeps every report raw (device_id NULL for an
      // imported row); lut_entries is the merge of a key's reports (the rule is in registry.h),
      // rewritten whenever a report for the key arrives. e2e_latency keeps whole-model reports.
      {3, R"sql(
DROP TABLE latency_reports;
CREATE TABLE profile_jobs (
  id INTEGER PRIMARY KEY,
  device_class TEXT NOT NULL,
  kernels TEXT NOT NULL,
  runs INTEGER NOT NULL CHECK (runs >= 1),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX profile_jobs_by_class ON profile_jobs(device_class, id);
CREATE TABLE profile_job_answers (
  job_id INTEGER NOT NULL REFERENCES profile_jobs(id),
  device_id TEXT NOT NULL REFERENCES devices(id),
  at TEXT NOT NULL,
  PRIMARY KEY (job_id, device_id)
);
CREATE TABLE lut_reports (
  id INTEGER PRIMARY KEY,
  device_class TEXT NOT NULL,
  device_id TEXT REFERENCES devices(id),
  key TEXT NOT NULL,
  kind TEXT NOT NULL,
  median_ms REAL NOT NULL CHECK (median_ms >= 0),
  p90_ms REAL NOT NULL CHECK (p90_ms >= median_ms),
  runs INTEGER NOT NULL CHECK (runs >= 0),
  source TEXT NOT NULL CHECK (source IN ('measured', 'estimated')),
  job_id INTEGER REFERENCES profile_jobs(id),
  at TEXT NOT NULL
);
CREATE INDEX lut_reports_by_key ON lut_reports(device_class, key, source, id);
CREATE TABLE lut_entries (
  device_class TEXT NOT NULL,
  key TEXT NOT NULL,
  median_ms REAL NOT NULL,
  p90_ms REAL NOT NULL,
  count INTEGER NOT NULL,
  source TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (device_class, key)
);
CREATE TABLE e2e_latency (
  id INTEGER PRIMARY KEY,
  device_class TEXT NOT NULL,
  device_id TEXT NOT NULL REFERENCES devices(id),
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  median_ms REAL NOT NULL CHECK (median_ms >= 0),
  p90_ms REAL NOT NULL CHECK (p90_ms >= median_ms),
  runs INTEGER NOT NULL CHECK (runs >= 0),
  joules_per_inference REAL,
  energy_measured INTEGER NOT NULL DEFAULT 0,
  energy_source TEXT NOT NULL DEFAULT '',
  job_id INTEGER REFERENCES profile_jobs(id),
  at TEXT NOT NULL
);
CREATE INDEX e2e_latency_by_model ON e2e_latency(device_class, model, version, batch, id);
)sql"},
  };
  return migrations;
}

}  // namespace hadmc::registry
