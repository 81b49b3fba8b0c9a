//! Matching a path against channel addresses (`/room/{roomId}`: upgrades,
//! HTTP operations, the mock) and reading the query string, percent-decoded.

/// The parameters of `path` under the address `template`, decoded, or `None`
/// when it does not match. A parameter takes a non-empty run of characters up
/// to the next literal text of the template, never a `/`.
pub fn match_address<'t>(template: &'t str, path: &str) -> Option<Vec<(&'t str, String)>> {
    let mut params = Vec::new();
    matches(template, path, &mut params).then_some(params)
}

fn matches<'t>(template: &'t str, path: &str, params: &mut Vec<(&'t str, String)>) -> bool {
    let Some(open) = template.find('{') else { return template == path };
    let (literal, rest) = template.split_at(open);
    let Some(path) = path.strip_prefix(literal) else { return false };
    let Some(close) = rest.find('}') else { return false };
    let name = &rest[1..close];
    let after = &rest[close + 1..];
    // The parameter ends where the template's next literal text begins.
    let next_literal = after.find('{').map_or(after, |i| &after[..i]);
    let segment_end = path.find('/').unwrap_or(path.len());
    let candidates: Vec<usize> = if next_literal.is_empty() {
        vec![segment_end]
    } else {
        path.match_indices(next_literal).map(|(i, _)| i).filter(|i| *i <= segment_end).collect()
    };
    for end in candidates.into_iter().filter(|end| *end > 0) {
        let mark = params.len();
        params.push((name, percent_decode(&path[..end], false)));
        if matches(after, &path[end..], params) {
            return true;
        }
        params.truncate(mark);
    }
    false
}

/// `a=1&b=x%20y` as decoded pairs; a key without `=` has an empty value.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// Name/value pairs (a query's, an upgrade's headers) as a JSON object to
/// validate against a schema: values that read as booleans or numbers are
/// those, the rest strings. A later pair with the same name wins.
pub fn typed_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (key, text) in pairs {
        let value = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(parsed) if parsed.is_boolean() || parsed.is_number() => parsed,
            _ => serde_json::Value::String(text),
        };
        map.insert(key, value);
    }
    serde_json::Value::Object(map)
}

/// An HTTP operation's message: `body` (`{}` when empty) with `added` (the
/// path's parameters, then the query's pairs) as properties, typed as
/// [`typed_pairs`] types them. The server and `specserve-tools mock` build
/// it alike. `Err` says why the request is malformed.
pub fn http_message(body: &[u8], added: Vec<(String, String)>) -> Result<serde_json::Value, String> {
    let mut message = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|_| "the body is not valid JSON".to_owned())?
    };
    if added.is_empty() {
        return Ok(message);
    }
    let serde_json::Value::Object(fields) = &mut message else {
        return Err("the body must be a JSON object: the path and the query add properties to it".to_owned());
    };
    for (i, (key, _)) in added.iter().enumerate() {
        if fields.contains_key(key) || added[..i].iter().any(|(other, _)| other == key) {
            return Err(format!("`{key}` is given twice (path, query or body)"));
        }
    }
    if let serde_json::Value::Object(typed) = typed_pairs(added) {
        fields.extend(typed);
    }
    Ok(message)
}

/// Decodes `%XX` escapes (and `+` as a space, in queries); an invalid escape stays as written.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?))).flatten();
        match (escaped, bytes[i]) {
            (Some((high, low)), _) => {
                out.push(high * 16 + low);
                i += 3;
            }
            (None, b'+') if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_whole_paths_and_take_segments_as_parameters() {
        assert_eq!(match_address("/ws", "/ws"), Some(vec![]));
        assert_eq!(match_address("/ws", "/ws/x"), None);
        assert_eq!(match_address("/room/{roomId}", "/room/42"), Some(vec![("roomId", "42".into())]));
        assert_eq!(match_address("/room/{roomId}", "/room/"), None, "empty parameter");
        assert_eq!(match_address("/room/{roomId}", "/room/4/2"), None, "a parameter is one segment");
        assert_eq!(
            match_address("/v1/{symbol}/trades.{format}", "/v1/btc%20usd/trades.json"),
            Some(vec![("symbol", "btc usd".into()), ("format", "json".into())])
        );
        assert_eq!(match_address("/", "/"), Some(vec![]));
    }

    #[test]
    fn queries_are_decoded() {
        let pairs = query_pairs(Some("heartbeat=true&name=a+b%2Fc&flag&bad=%zz"));
        assert_eq!(
            pairs,
            vec![
                ("heartbeat".into(), "true".into()),
                ("name".into(), "a b/c".into()),
                ("flag".into(), String::new()),
                ("bad".into(), "%zz".into())
            ]
        );
    }
}
