//! The inventory as JSON for scripts: everything, plus `server`, `client_hosts`, `host.NAME`
//! and `interpreter.VERSION` shortcuts, and the dotted-key lookup behind `inventory get KEY`.

use super::{Host, Inventory, InventoryError, Role};

impl Inventory {
    /// shortcuts so that `inventory get` can answer `server.address`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            if let Some(s) = self.server() {
                obj.insert("server".into(), host_json(s));
            }
            let clients: Vec<_> = self
                .hosts
                .iter()
                .filter(|h| h.role == Role::Client)
                .map(host_json)
                .collect();
            obj.insert("client_hosts".into(), clients.into());
            let by_name: serde_json::Map<_, _> = self
                .hosts
                .iter()
                .map(|h| (h.name.clone(), host_json(h)))
                .collect();
            obj.insert("host".into(), by_name.into());
            let by_version: serde_json::Map<_, _> = self
                .interpreters
                .iter()
                .map(|i| {
                    (
                        i.version.clone(),
                        serde_json::to_value(i).unwrap_or_default(),
                    )
                })
                .collect();
            obj.insert("interpreter".into(), by_version.into());
        }
        v
    }

    /// Looks up a dotted key in [`Inventory::to_json`] and renders it for a shell: strings
    /// bare, numbers as digits, arrays of scalars space-separated, objects as JSON. A key
    /// applied to an array maps over its elements (`client_hosts.address`).
    pub fn get(&self, key: &str) -> Result<String, InventoryError> {
        let root = self.to_json();
        let found = lookup(&root, key).ok_or_else(|| InventoryError::NoSuchKey(key.into()))?;
        Ok(render(&found))
    }
}

fn host_json(h: &Host) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or_default()
}

fn lookup(root: &serde_json::Value, key: &str) -> Option<serde_json::Value> {
    let mut cur = root.clone();
    // Version labels contain dots (`interpreter.3.12.venv`), so try the longest segment first.
    let parts: Vec<&str> = key.split('.').collect();
    let mut i = 0;
    while i < parts.len() {
        let mut advanced = false;
        for j in (i + 1..=parts.len()).rev() {
            let seg = parts[i..j].join(".");
            if let Some(next) = step(&cur, &seg) {
                cur = next;
                i = j;
                advanced = true;
                break;
            }
        }
        if !advanced {
            return None;
        }
    }
    Some(cur)
}

fn step(v: &serde_json::Value, seg: &str) -> Option<serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m.get(seg).cloned(),
        serde_json::Value::Array(a) => {
            if let Ok(i) = seg.parse::<usize>() {
                return a.get(i).cloned();
            }
            let mapped: Option<Vec<_>> = a.iter().map(|e| step(e, seg)).collect();
            mapped.map(serde_json::Value::Array)
        }
        _ => None,
    }
}

fn render(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(a) if a.iter().all(|e| !e.is_object() && !e.is_array()) => {
            a.iter().map(render).collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    }
}
