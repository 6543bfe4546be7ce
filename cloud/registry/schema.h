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
  };
  return migrations;
}

}  // namespace hadmc::registry
