//! Where js-controller's databases are: `iobroker-data/iobroker.json`.
//!
//! Found, in this order, at `--iobroker` (the file or its folder), in
//! `$IOBROKER_DATA_DIR`, or two levels above the adapter folder
//! (`<root>/node_modules/iobroker.hmip/…` → `<root>/iobroker-data/iobroker.json`).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One database as iobroker.json describes it.
#[derive(Clone, PartialEq)]
pub struct DbEndpoint {
    /// `jsonl`, `file` (both served by the controller over the Redis protocol) or `redis`.
    pub kind: String,
    /// Host to connect to (`0.0.0.0` / `::` mean this machine).
    pub host: String,
    /// Port.
    pub port: u16,
    /// `options.auth_pass`, if set (never logged).
    pub password: Option<String>,
    /// `options.db`, if set.
    pub db: Option<u32>,
}

impl std::fmt::Debug for DbEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbEndpoint")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .finish()
    }
}

/// The states and objects databases.
#[derive(Debug, Clone, PartialEq)]
pub struct Databases {
    /// The states database.
    pub states: DbEndpoint,
    /// The objects database.
    pub objects: DbEndpoint,
}

/// Find iobroker.json; the error lists where it looked.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = explicit {
        candidates.push(if p.is_dir() {
            p.join("iobroker.json")
        } else {
            p.to_path_buf()
        });
    } else {
        if let Some(dir) = std::env::var_os("IOBROKER_DATA_DIR") {
            candidates.push(PathBuf::from(dir).join("iobroker.json"));
        }
        // The binary sits in <root>/node_modules/iobroker.hmip/bin/.
        if let Ok(exe) = std::env::current_exe() {
            if let Some(adapter_dir) = exe.parent().and_then(Path::parent) {
                candidates.push(adapter_dir.join("../../iobroker-data/iobroker.json"));
            }
        }
        // The launcher runs with the adapter folder as working directory.
        candidates.push(PathBuf::from("../../iobroker-data/iobroker.json"));
    }
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    anyhow::bail!(
        "iobroker.json not found (looked at {}); pass --iobroker PATH or set IOBROKER_DATA_DIR",
        tried.join(", ")
    )
}

/// Read the database settings.
pub fn load(path: &Path) -> anyhow::Result<Databases> {
    let v = read(path)?;
    parse(&v).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The whole file as JSON.
pub fn read(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))
}

/// The ioBroker root (the folder whose `node_modules` holds js-controller), which
/// js-controller takes relative log file names from. A Node adapter finds js-controller
/// from its own folder, `<root>/node_modules/iobroker.hmip`: the controller starts the
/// launcher there (our working directory) and the binary sits in its `bin/`; failing both,
/// the folder above iobroker.json's. None when none of them holds js-controller (no
/// controller, no controller log to join).
pub fn controller_root(iobroker_json: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("../.."));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(adapter_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(adapter_dir.join("../.."));
        }
    }
    if let Some(data_dir) = iobroker_json.parent() {
        candidates.push(data_dir.join(".."));
    }
    candidates
        .into_iter()
        .find(|c| c.join("node_modules/iobroker.js-controller").is_dir())
        .map(|c| std::fs::canonicalize(&c).unwrap_or(c))
}

/// Parse the `states` and `objects` sections.
pub fn parse(v: &Value) -> Result<Databases, String> {
    Ok(Databases {
        states: endpoint(v, "states")?,
        objects: endpoint(v, "objects")?,
    })
}

fn endpoint(v: &Value, section: &str) -> Result<DbEndpoint, String> {
    let s = v
        .get(section)
        .ok_or_else(|| format!("no \"{section}\" section"))?;
    let kind = s
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("jsonl")
        .to_string();
    if !matches!(kind.as_str(), "jsonl" | "file" | "redis") {
        return Err(format!(
            "{section}: database type {kind:?} is not supported (jsonl, file or redis)"
        ));
    }
    let host = match s.get("host") {
        Some(Value::String(h)) => h.clone(),
        Some(Value::Array(_)) => {
            return Err(format!(
                "{section}: Redis Sentinel (a list of hosts) is not supported yet"
            ))
        }
        None => "127.0.0.1".into(),
        Some(other) => return Err(format!("{section}: host {other} is not a host name")),
    };
    // A server bound to every interface is reached on loopback.
    let host = if matches!(host.as_str(), "0.0.0.0" | "::" | "") {
        "127.0.0.1".to_string()
    } else {
        host
    };
    let port = match s.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(p)) => p.parse().ok(),
        None => Some(if section == "states" { 9000 } else { 9001 }),
        _ => None,
    }
    .ok_or_else(|| format!("{section}: port is not a port number"))?;
    let options = s.get("options");
    let password = options
        .and_then(|o| o.get("auth_pass"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let db = options
        .and_then(|o| o.get("db"))
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| *d != 0);
    Ok(DbEndpoint {
        kind,
        host,
        port,
        password,
        db,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonl_and_redis_setups() {
        let v = json!({"system": {}, "states": {"type": "jsonl", "host": "0.0.0.0", "port": 9000, "options": {"auth_pass": null, "db": 0}},
                       "objects": {"type": "redis", "host": "127.0.0.1", "port": "6379", "options": {"auth_pass": "pw", "db": 2}}});
        let d = parse(&v).unwrap();
        assert_eq!(
            (
                d.states.host.as_str(),
                d.states.port,
                d.states.password.clone(),
                d.states.db
            ),
            ("127.0.0.1", 9000, None, None)
        );
        assert_eq!(
            (
                d.objects.kind.as_str(),
                d.objects.port,
                d.objects.password.as_deref(),
                d.objects.db
            ),
            ("redis", 6379, Some("pw"), Some(2))
        );
        assert!(
            !format!("{:?}", d.objects).contains("pw"),
            "the password is never printed"
        );
    }

    #[test]
    fn unsupported_setups_are_clear_errors() {
        let sentinel =
            json!({"states": {"type": "redis", "host": ["a", "b"], "port": [1, 2]}, "objects": {}});
        assert!(parse(&sentinel).unwrap_err().contains("Sentinel"));
        assert!(parse(&json!({"states": {"type": "couch"}, "objects": {}}))
            .unwrap_err()
            .contains("not supported"));
        assert!(parse(&json!({"objects": {}}))
            .unwrap_err()
            .contains("states"));
    }

    #[test]
    fn the_root_is_where_js_controller_is_installed() {
        let root = tempfile::tempdir().unwrap();
        let json = root.path().join("iobroker-data/iobroker.json");
        assert_eq!(controller_root(&json), None, "no js-controller, no root");
        std::fs::create_dir_all(root.path().join("node_modules/iobroker.js-controller")).unwrap();
        std::fs::create_dir_all(root.path().join("iobroker-data")).unwrap();
        assert_eq!(
            controller_root(&json),
            Some(std::fs::canonicalize(root.path()).unwrap())
        );
    }

    #[test]
    fn find_reports_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(Some(&dir.path().join("nope.json")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.json"), "{err}");
        std::fs::write(dir.path().join("iobroker.json"), "{}").unwrap();
        assert_eq!(
            find(Some(dir.path())).unwrap(),
            dir.path().join("iobroker.json")
        );
    }
}
