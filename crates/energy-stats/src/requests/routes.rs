//! MiniTwit's routes: a request's method, path and status → its endpoint, the route template
//! Flask matched (`GET /<user>`, `POST /add_message`), so that requests for different users
//! count as one endpoint.
//!
//! MiniTwit's routes (`minitwit/minitwit.py`): `/`, `/public`, `/cleardb`, `/login`,
//! `/register`, `/logout`, `/add_message`, `/<username>`, `/<username>/follow`,
//! `/<username>/unfollow`. An answer 404 is the endpoint `404` whatever the path (the paper
//! scenario's "private timeline" requests: a path that names no user); a request without an
//! answer is `no answer`.

/// The endpoint of one request.
pub fn endpoint(method: &str, path: &str, status: Option<u16>) -> String {
    match status {
        None => return "no answer".to_string(),
        Some(404) => return "404".to_string(),
        Some(_) => {}
    }
    // The route is matched on the path alone (a query string is no part of it).
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let template = match segments.as_slice() {
        [""] => "/",
        ["public" | "cleardb" | "login" | "register" | "logout" | "add_message"] => path,
        [_user] => "/<user>",
        [_user, "follow"] => "/<user>/follow",
        [_user, "unfollow"] => "/<user>/unfollow",
        _ => "(other)",
    };
    format!("{method} {template}")
}

/// The order endpoints are listed in: the scenario's order of first use, then the rest.
pub fn rank(endpoint: &str) -> (usize, &str) {
    const ORDER: [&str; 12] = [
        "GET /",
        "GET /public",
        "POST /register",
        "GET /register",
        "GET /login",
        "POST /login",
        "POST /add_message",
        "GET /<user>/follow",
        "GET /<user>/unfollow",
        "GET /<user>",
        "GET /logout",
        "404",
    ];
    (
        ORDER
            .iter()
            .position(|e| *e == endpoint)
            .unwrap_or(ORDER.len()),
        endpoint,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenarios_requests_map_to_minitwits_routes() {
        for (m, p, s, want) in [
            ("GET", "/", Some(302), "GET /"),
            ("GET", "/public", Some(200), "GET /public"),
            ("POST", "/register", Some(302), "POST /register"),
            ("GET", "/login", Some(200), "GET /login"),
            ("POST", "/login", Some(302), "POST /login"),
            ("POST", "/add_message", Some(302), "POST /add_message"),
            ("GET", "/User%200/follow", Some(302), "GET /<user>/follow"),
            ("GET", "/User%200", Some(200), "GET /<user>"),
            ("GET", "/Ada/unfollow", Some(302), "GET /<user>/unfollow"),
            ("GET", "/public?x=1", Some(200), "GET /public"),
            (
                "GET",
                "/%3Crequests.sessions.Session%20object%20at%200x7f3a2c1d5e50%3E",
                Some(404),
                "404",
            ),
            ("GET", "/", None, "no answer"),
            ("GET", "/a/b/c", Some(200), "GET (other)"),
        ] {
            assert_eq!(endpoint(m, p, s), want, "{m} {p}");
        }
        assert!(rank("GET /") < rank("404"));
        assert!(rank("404") < rank("GET (other)"));
    }
}
