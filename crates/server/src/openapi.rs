//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, written by hand next to the
//! handlers it describes. It lists every status each operation answers and the schemas of
//! what it really returns; the codes of agencies and procedures are this server's catalog.
//! Tests check it against the router's routes (every API route is an operation and back), and
//! `scripts/schemathesis.sh` checks the server's answers against it.

use motcua_core::{Domain, Status};
use serde_json::{Map, Value, json};

use crate::perm::Action;
use crate::problem::ProblemKind;

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// A 429: a problem with `Retry-After`.
fn too_many() -> Value {
    json!({
        "description": "too many tries from this client (or for this account name): wait `Retry-After` seconds",
        "headers": {"Retry-After": {"required": true, "schema": {"type": "integer", "minimum": 0}}},
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn json_ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Which errors an operation can answer with.
#[derive(Clone, Copy, Default)]
struct Errors {
    /// Needs an account: 401 without one.
    auth: bool,
    /// Writes: a cookie session without its CSRF token is a 403.
    write: bool,
    /// The role or the agency may refuse: 403.
    forbidden: bool,
    /// Has query or path parameters that may not parse: 400.
    params: bool,
    /// Reads a JSON body: 400 (not JSON), 408 (not arrived within the body-read timeout), 413
    /// (too large), 422 (a field of the wrong type or failing its check).
    body: bool,
    /// Checks field values: 422.
    invalid: bool,
    not_found: bool,
    conflict: bool,
    rate_limited: bool,
    unavailable: bool,
}

impl Errors {
    fn responses(self, mut ok: Value) -> Value {
        let Some(o) = ok.as_object_mut() else { return ok };
        if self.params || self.body {
            o.insert("400".into(), problem("`bad-request`: a query string, path or body that does not parse"));
        }
        if self.auth {
            o.insert("401".into(), problem("`unauthorized`: no credentials, an unknown token or an ended session"));
        }
        if self.write || self.forbidden {
            o.insert(
                "403".into(),
                problem("`forbidden` (the role or the agency may not), or `csrf-token-mismatch` (a cookie session's write without `X-CSRF-Token`)"),
            );
        }
        if self.not_found {
            o.insert("404".into(), problem("`not-found`"));
        }
        if self.conflict {
            o.insert("409".into(), problem("the dossier's state does not allow this (see `x-problem-types`)"));
        }
        if self.body {
            o.insert(
                "408".into(),
                problem(
                    "`request-timeout`: the body did not arrive whole within the body-read timeout (30 s by default)",
                ),
            );
            o.insert("413".into(), problem("`payload-too-large`: the body exceeds the limit (64 KiB by default)"));
        }
        if self.body || self.invalid {
            o.insert("422".into(), problem("a field fails its check (`invalid-input`, `unknown-agency`, `outside-calendar`, `at-in-future`, …)"));
        }
        if self.rate_limited {
            o.insert("429".into(), too_many());
        }
        // Every operation reads or writes the database: while it is away (or its disk full or
        // read-only) the answer is 503 `unavailable`, nothing written.
        let why = if self.unavailable {
            "`unavailable`: the database is away or its disk full (nothing written; `Retry-After`), or the agency's 9,999 codes of the day are used up"
        } else {
            "`unavailable`: the database is away or its disk full (nothing written; `Retry-After`)"
        };
        o.insert("503".into(), problem(why));
        ok
    }
}

fn token_list() -> Value {
    json_ok(
        "tokens, newest first",
        json!({"type": "object", "required": ["tokens"], "properties": {"tokens": {"type": "array", "items": schema_ref("Token")}}}),
    )
}

/// When an action is stated to have happened.
const AT_DESCRIPTION: &str = "when it happened; never after now; at most the backdating window before now (one working day by default), earlier only for an account with the paper-history capability, with backdate_reason";

/// Why an action is stated earlier than the window allows.
fn backdate_reason() -> Value {
    json!({"type": ["string", "null"], "description": "why the action is stated earlier than the backdating window allows (paper history); kept in the event"})
}

fn code_param() -> Value {
    json!({"name": "code", "in": "path", "required": true, "schema": {"type": "string"}, "example": "000.00.02.H17-250303-0001",
           "description": "the dossier code; one that does not exist (or does not parse) is a 404"})
}

/// An agency filter: empty means the account's own agencies.
fn agency_query(agencies: &[String]) -> Value {
    let mut values: Vec<Value> = vec![json!("")];
    values.extend(agencies.iter().map(|a| json!(a)));
    json!({"name": "agency", "in": "query", "schema": {"type": "string", "enum": values},
           "description": "an agency code (chairs, administrators and inspectors of the whole city: any; officers and inspectors with agencies: their own, else 403); empty: the account's agencies, or the whole city for a chair, administrator or inspector with none of their own"})
}

fn instant(description: &str) -> Value {
    json!({"type": ["string", "null"], "description": format!("{description}: RFC 3339 (`2025-01-24T16:40:00+07:00`) or Vietnam local time (`2025-01-24T16:40`); empty or null means now. A value that does not read, lies outside the working-day calendar or (for `at`) after now is a 422")})
}

/// An instant in a query string (where there is no null).
fn query_instant(description: &str) -> Value {
    let mut v = instant(description);
    v["type"] = json!("string");
    v
}

fn page_param() -> Value {
    json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "the page, from 1 (0 is taken as 1); past the last page the list is empty and `total` still counts it"})
}

fn per_page_param() -> Value {
    json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "rows per page, taken between 1 and 200; default 50"})
}

fn scope_schema() -> Value {
    json!({"type": "string", "enum": ["agencies", "city"], "description": "the account's (or the named) agencies, or the whole city (the chair with no agency named)"})
}

/// A page of a list: `properties` (with `required`) and where the page is in the list.
fn paged(properties: Value, required: &[&str]) -> Value {
    let mut props = json!({
        "total": {"type": "integer", "minimum": 0, "description": "how many the whole list has"},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
        "first": {"type": "integer", "minimum": 0, "description": "the first row of this page, from 1 (0 when it has none)"},
        "last": {"type": "integer", "minimum": 0, "description": "the last row of this page (0 when it has none)"}});
    if let (Some(p), Some(extra)) = (props.as_object_mut(), properties.as_object()) {
        p.extend(extra.clone());
    }
    let mut req = vec!["total", "page", "per_page", "first", "last"];
    req.extend_from_slice(required);
    json!({"type": "object", "required": req, "properties": props})
}

/// One of the desk's lists (`/api/v1/lists/{name}`).
fn desk_list(name: &str, summary: &str, agencies: &[String]) -> Value {
    json!({"get": {"summary": summary, "operationId": format!("list_{name}"),
        "parameters": [agency_query(agencies), page_param(), per_page_param()],
        "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("one page of the list", paged(json!({
            "list": {"type": "string", "enum": [name]}, "scope": scope_schema(), "agencies": {"type": "array", "items": {"type": "string"}},
            "dossiers": {"type": "array", "items": schema_ref("DossierRow")}}), &["list", "scope", "agencies", "dossiers"]))}))}})
}

/// The links from an answer that carries a dossier code to the operations on that dossier.
fn dossier_links(actions: &[Action]) -> Value {
    let mut links = Map::new();
    let code = json!({"code": "$response.body#/code"});
    links.insert("show".into(), json!({"operationId": "show_dossier", "parameters": code}));
    links.insert("events".into(), json!({"operationId": "dossier_events", "parameters": code}));
    for a in actions {
        links
            .insert(a.name().replace('-', "_"), json!({"operationId": a.name().replace('-', "_"), "parameters": code}));
    }
    Value::Object(links)
}

/// The body of each action.
fn action_body(a: Action, agencies: &[Value]) -> Value {
    let agency = json!({"type": "string", "enum": agencies, "description": "agency code"});
    let mut nullable_agencies = agencies.to_vec();
    nullable_agencies.push(Value::Null);
    // An optional field may be null (absent); a required one may not.
    let reason = |required: bool| {
        json!({"type": if required { json!("string") } else { json!(["string", "null"]) },
               "description": format!("{}one paragraph, at most 2,000 characters, no control characters but line breaks", if required { "required: " } else { "optional: " })})
    };
    let code = json!({"type": ["string", "null"], "description": "optional: a delay reason code of config/delay_reasons.json (citizen_incomplete, citizen_requested, agency_workload, inter_agency_wait, site_inspection, force_majeure, other)"});
    let (props, required): (Value, Vec<&str>) = match a {
        Action::Transfer => (json!({"to": agency}), vec!["to"]),
        Action::RefuseOnline | Action::Stop => (json!({"reason": reason(true), "reason_code": code}), vec!["reason"]),
        Action::RequestSupplement => (
            json!({"reason": reason(true), "documents": {"type": "array", "items": {"type": "string"}, "description": "the papers asked for"}, "reason_code": code}),
            vec!["reason"],
        ),
        Action::RequestPayment => (
            json!({"reason": reason(false), "amount_vnd": {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000_000_000u64, "description": "the fee in VND; default (null): the catalog's fee; required when the procedure's fee is a list of options"}}),
            vec![],
        ),
        Action::Paid => (
            json!({"method": {"enum": ["cash", "bank_transfer", "online", "exempt"], "description": "how the fee was paid (online: the national payment platform or a bank's QR code)"},
                   "receipt": {"type": ["string", "null"], "maxLength": 100, "description": "optional: the receipt's or the transaction's reference, one line"}}),
            vec!["method"],
        ),
        Action::Accept | Action::AcceptOnline => (
            json!({"digitised": {"type": "array", "maxItems": 40, "items": {"type": "string", "minLength": 1, "maxLength": 300},
                   "description": "the papers of the dossier's checklist the desk digitised at acceptance, by name (the CLI's `digitise`): recorded as a `digitised` event after the acceptance, both or neither; a name not in the checklist is a 422 and nothing is written; [] or absent: none recorded"}}),
            vec![],
        ),
        Action::Withdraw => (json!({"reason": reason(false)}), vec![]),
        Action::Reschedule => (
            json!({
                "to": {"type": "string", "description": "YYYY-MM-DD (that working day's closing) or an instant inside office hours; after the due date"},
                "reason": reason(true),
                "responsible": {"enum": nullable_agencies, "description": "the agency at fault (default, or null: the holder)"},
                "override_second": {"type": "boolean", "description": "allow a second new date"},
                "next_working_day": {"type": "boolean", "description": "a date on a day off is moved to the next working day (same time of day) instead of refused"},
                "reason_code": code
            }),
            vec!["to", "reason"],
        ),
        Action::Resolve => (
            json!({"refused": {"type": "boolean"}, "reason": {"type": ["string", "null"], "description": "required when refused"},
                   "electronic": {"type": "boolean", "description": "the result was issued electronically (default false: on paper)"},
                   "reason_code": code}),
            vec![],
        ),
        _ => (json!({}), vec![]),
    };
    let mut props = props;
    if let Some(p) = props.as_object_mut() {
        p.insert("at".into(), instant(AT_DESCRIPTION));
        p.insert("backdate_reason".into(), backdate_reason());
    }
    json!({"type": "object", "properties": props, "required": required})
}

/// What may follow an action on the same dossier (for the stateful phase of API fuzzers).
fn next_actions(a: Action) -> Vec<Action> {
    use Action as A;
    match a {
        A::Intake | A::AcceptOnline => vec![A::Transfer, A::Accept, A::RequestSupplement, A::Resolve, A::Withdraw],
        A::Submit => vec![A::AcceptOnline, A::RefuseOnline],
        A::Transfer => vec![A::Accept],
        A::Accept | A::Supplement | A::Paid => {
            vec![A::RequestSupplement, A::RequestPayment, A::Reschedule, A::Resolve, A::Transfer, A::Stop]
        }
        A::RequestSupplement => vec![A::Supplement, A::Withdraw],
        A::RequestPayment => vec![A::Paid],
        A::Resolve => vec![A::Return],
        A::Reschedule => vec![A::Resolve],
        A::RefuseOnline | A::Return | A::Withdraw | A::Stop => vec![],
    }
}

/// The document, with the agency and procedure codes of `domain`'s catalog.
pub fn document(domain: &Domain) -> Value {
    let agency_codes: Vec<String> = domain.catalog.agencies().map(|a| a.code.to_string()).collect();
    let agencies: Vec<Value> = agency_codes.iter().map(|a| json!(a)).collect();
    let procedures: Vec<Value> = domain.catalog.procedures().map(|p| json!(p.code.to_string())).collect();
    let statuses: Vec<Value> = Status::ALL.iter().map(|s| json!(s.code())).collect();
    let status_names: Vec<Value> = Status::ALL.iter().map(|s| json!(s.name())).collect();

    let mut paths = Map::new();
    for a in Action::ALL {
        if matches!(a, Action::Intake | Action::Submit) {
            continue;
        }
        let errors = Errors {
            auth: true,
            write: true,
            forbidden: true,
            params: true,
            body: true,
            not_found: true,
            conflict: true,
            ..Errors::default()
        };
        let mut ok = json_ok("the dossier after the action", schema_ref("WrittenDossier"));
        ok["links"] = dossier_links(&next_actions(a));
        paths.insert(
            format!("/api/v1/dossiers/{{code}}/{}", a.name()),
            json!({"post": {
                "summary": format!("{} (see docs/server.md for who may)", a.name()),
                "operationId": a.name().replace('-', "_"),
                "parameters": [code_param()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": action_body(a, &agencies)}}},
                "responses": errors.responses(json!({"200": ok})),
            }}),
        );
    }

    let opening = |id: &str, summary: &str, action: Action| -> Value {
        let mut created = json_ok("the new dossier", schema_ref("WrittenDossier"));
        created["headers"] = json!({"Location": {"required": true, "schema": {"type": "string"}, "description": "/api/v1/dossiers/{code}"}});
        created["links"] = dossier_links(&next_actions(action));
        let errors = Errors {
            auth: true,
            write: true,
            forbidden: true,
            body: true,
            conflict: true,
            unavailable: true,
            // A hall ticket (`ticket`) that does not exist.
            not_found: action == Action::Intake,
            ..Errors::default()
        };
        json!({"summary": summary, "operationId": id,
               "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref(if action == Action::Submit { "Submission" } else { "Intake" })}}},
               "responses": errors.responses(json!({"201": created}))})
    };
    let read = Errors { auth: true, ..Errors::default() };
    let account = json_ok("the account and the session's CSRF token (empty for a token)", schema_ref("Account"));

    let more = json!({
        "/api/v1/openapi.json": {"get": {"summary": "this document", "operationId": "openapi", "security": [],
            "responses": {"200": json_ok("OpenAPI 3.1", json!({"type": "object", "required": ["openapi", "paths"]}))}}},
        "/api/v1/session": {
            "post": {"summary": "log in; sets the session cookie and returns the CSRF token for writes; repeated wrong passwords are throttled (429 with Retry-After) and then locked until an administrator unlocks",
                     "operationId": "login", "security": [],
                     "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                         "properties": {"username": {"type": "string"}, "password": {"type": "string"}}, "required": ["username", "password"]}}}},
                     "responses": Errors { body: true, rate_limited: true, ..Errors::default() }.responses(json!({
                         "200": account.clone(),
                         "401": problem("`unauthorized`: wrong username or password, or a disabled account")}))},
            "delete": {"summary": "log out (a token client: nothing to end)", "operationId": "logout",
                       "responses": Errors { auth: true, write: true, ..Errors::default() }.responses(json!({"204": {"description": "logged out"}}))}
        },
        "/api/v1/me": {"get": {"summary": "the authenticated account", "operationId": "me", "responses": read.responses(json!({"200": account}))}},
        "/api/v1/tokens": {
            "post": {"summary": "a new API token for the account logged in with a session (a token cannot make tokens: 403); its secret is in this answer only; it expires after expires_in_days (1 to 365, default 90)", "operationId": "create_token",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "what the token is for: one line, at most 100 characters, no control characters"},
                    "expires_in_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 365, "description": "default (or null): 90"}}}}}},
                "responses": Errors { auth: true, write: true, forbidden: true, body: true, ..Errors::default() }.responses(json!({"201": json_ok("the token, its secret shown once", json!({
                    "type": "object", "required": ["id", "name", "expires_at", "token"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
                                   "token": {"type": "string", "pattern": "^mct_[0-9a-f]{64}$"}}}))}))},
            "get": {"summary": "the authenticated account's API tokens, revoked and expired ones included (never a secret)", "operationId": "own_tokens",
                "responses": read.responses(json!({"200": token_list()}))}
        },
        "/api/v1/tokens/{id}": {"delete": {"summary": "revoke one of the account's own tokens, or any account's (administrator); another account's token, or an id that is not a number, is not found", "operationId": "revoke_token",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": Errors { auth: true, write: true, params: true, not_found: true, ..Errors::default() }.responses(json!({"200": json_ok("the token after it, with revoked_at", schema_ref("Token"))}))}},
        "/api/v1/catalog": {"get": {"summary": "agencies and procedures", "operationId": "catalog",
            "responses": read.responses(json!({"200": json_ok("agencies and procedures, as `motcua catalog --json`", schema_ref("Catalog"))}))}},
        "/api/v1/dossiers": {
            "post": opening("intake", "intake at the desk (status 2): allocates the code, starts the clock", Action::Intake),
            "get": {"summary": "the staff's search, by free text (`q`) or by code, applicant, id_number and phone (every one given must match): the dossiers one of the account's agencies received or held; the city-wide role (chair) searches every dossier and each one shown is recorded as a read of its personal data; an inspector searches its scope (the whole city with no agency of its own) and every dossier shown is recorded. A page at a time, with the count of all found",
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "free text, 2 to 200 characters, no control character (surrounding spaces ignored), searched as whatever it can be: 9 or 12 digits an ID number, a whole phone number, a word of letters, digits, dots and dashes with a digit a code or its beginning, anything else a part of a name; not with the other terms (else 422)"},
                    {"name": "code", "in": "query", "schema": {"type": "string"}, "description": "a whole dossier code or its beginning, any letter case; at most 200 characters"},
                    {"name": "applicant", "in": "query", "schema": {"type": "string"}, "description": "a part of the applicant's name, with or without its marks (\"tran thi binh\" finds \"Trần Thị Bình\"); 2 to 200 characters"},
                    {"name": "id_number", "in": "query", "schema": {"type": "string"}, "description": "the whole ID number; at most 20 characters"},
                    {"name": "phone", "in": "query", "schema": {"type": "string"}, "description": "a whole phone number, compared by its digits (`0905 123 456` finds `+84905123456`); another value is a 422"},
                    page_param(), per_page_param(),
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "the older name of per_page"}],
                "responses": Errors { auth: true, params: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("one page of the dossiers found, most recently changed first", paged(json!({
                        "scope": {"type": "string", "enum": ["own_agencies", "city"]},
                        "dossiers": {"type": "array", "items": schema_ref("DossierRow")}}), &["scope", "dossiers"]))}))}
        },
        "/api/v1/submissions": {
            "post": opening("submit", "an online submission (status 1), to be accepted or refused by the desk", Action::Submit),
            "get": {"summary": "online submissions waiting at the account's desks (the chair, with no agency named: every desk's), oldest first, a page at a time with their count", "operationId": "submissions",
                    "parameters": [agency_query(&agency_codes), page_param(), per_page_param()],
                    "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("one page of the submissions", paged(json!({
                        "scope": scope_schema(), "agencies": {"type": "array", "items": {"type": "string"}},
                        "submissions": {"type": "array", "items": schema_ref("DossierRow")}}), &["scope", "agencies", "submissions"]))}))}
        },
        "/api/v1/dossiers/{code}": {"get": {"summary": "the dossier: state, clocks, control sheet, explanation", "operationId": "show_dossier",
            "parameters": [code_param(), {"name": "as_of", "in": "query", "schema": query_instant("the instant to show the dossier at")}],
            "responses": Errors { auth: true, params: true, not_found: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("the dossier", schema_ref("ShownDossier"))}))}},
        "/api/v1/dossiers/{code}/events": {"get": {"summary": "the dossier's event log, with the staff account of each event", "operationId": "dossier_events",
            "parameters": [code_param()],
            "responses": Errors { auth: true, params: true, not_found: true, ..Errors::default() }.responses(json!({"200": json_ok("events", json!({
                "type": "object", "required": ["code", "events"],
                "properties": {"code": {"type": "string"}, "events": {"type": "array", "minItems": 1, "items": schema_ref("Event")}}}))}))}},
        "/api/v1/queue": {"get": {"summary": "the work queue: open dossiers held by the account's agencies (the chair, with no agency named: the whole city's), by urgency (overdue, due today, the rest by due date, those waiting for the citizen last; at risk judged on the page), a page at a time with the queue's length", "operationId": "queue",
            "parameters": [agency_query(&agency_codes), page_param(), per_page_param()],
            "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("one page of the queue", paged(json!({
                "scope": scope_schema(), "agencies": {"type": "array", "items": {"type": "string"}}, "as_of": {"type": "string", "format": "date-time"},
                "dossiers": {"type": "array", "items": schema_ref("QueueItem")}}), &["scope", "agencies", "as_of", "dossiers"]))}))}},
        "/api/v1/lists/sent": desk_list("sent", "transfers sent by the account's agencies (the chair, with no agency named: the city's) not yet accepted by their recipient, longest waiting first; handoff_from and handoff_sent_at say who sent it and when", &agency_codes),
        "/api/v1/lists/ready": desk_list("ready", "results ready to hand back (status done: approved or refused, in time or late) of dossiers the account's agencies received or hold, not yet returned to the citizen, oldest result first", &agency_codes),
        "/api/v1/lists/waiting": desk_list("waiting", "dossiers waiting for the citizen (a supplement or a payment) that the account's agencies received or hold, longest waiting first", &agency_codes),
        "/api/v1/report": {"get": {"summary": "on-time report (JSON or CSV)", "operationId": "report", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD (surrounding spaces ignored); default the first day of `to`'s month. A value that is not a day, a period longer than three years or outside the calendar is a 422"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD; default today"},
            {"name": "by", "in": "query", "schema": {"type": "string"}, "description": "agency (default), procedure or month; anything else is a 422"},
            {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "only the dossiers of this lead agency (with as_successors, the agency they are counted under), in every grouping; an unknown agency is a 422"},
            {"name": "as_of", "in": "query", "schema": query_instant("the instant the report is computed at")},
            {"name": "as_successors", "in": "query", "schema": {"type": "string"}, "description": "`true` (or `on`, `1`): a ceased agency's dossiers (a district or ward abolished on 30/6/2025) counted under its successor with the largest share of territory as of the as-of day; `false`, `off`, `0` or absent: under the agencies as they were; anything else, or an agency filter naming a ceased agency with `true`, is a 422"},
            {"name": "hall_wait", "in": "query", "schema": {"type": "string"}, "description": "`true`: instead, the citizen's whole time per group (\"hall wait + processing\"): of the dossiers finished in the period, how many were received from a hall ticket and, for those, the time in the hall (number → receipt), the processing time (receipt → finish) and their sum, median and mean in minutes (`HallWaitReport`); anything but true/false is a 422"},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}],
            "responses": Errors { auth: true, params: true, invalid: true, ..Errors::default() }.responses(json!({"200": {"description": "report, or with hall_wait=true the hall-wait report",
                "content": {"application/json": {"schema": {"anyOf": [schema_ref("Report"), schema_ref("HallWaitReport")]}}, "text/csv": {"schema": {"type": "string"}}}}}))}},
        "/api/v1/scorecard": {"get": {"summary": "the chair's scorecard: every Decision 766/QĐ-TTg indicator the data can compute, with its points and Da Nang's target, per agency or month, and the dossiers whose data was not recorded (`unknown`); read from sums kept by the write path (chair, head of agency, inspector; docs/scorecard.md)", "operationId": "scorecard", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD; default the first day of `to`'s month. A value that is not a day or a period longer than three years is a 422"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD; default today"},
            {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["agency", "month"]}, "description": "agency (default) or month; anything else is a 422"},
            {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "only this lead agency's dossiers (with as_successors, the agency they are counted under); an unknown agency is a 422"},
            {"name": "as_of", "in": "query", "schema": query_instant("the instant the scorecard is computed at")},
            {"name": "as_successors", "in": "query", "schema": {"type": "string"}, "description": "`true` (or `on`, `1`): a ceased agency's dossiers and petitions counted under its successor with the largest share of territory as of the as-of day, as the report does; `false`, `off`, `0` or absent: under the agencies as they were; anything else, or an agency filter naming a ceased agency with `true`, is a 422"},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}],
            "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": {"description": "scorecard",
                "content": {"application/json": {"schema": schema_ref("Scorecard")}, "text/csv": {"schema": {"type": "string"}}}}}))}},
        "/api/v1/audit": {"get": {"summary": "the event log, newest first (chair, inspector, administrator; an inspector with agencies: the events of the dossiers they received or held)", "operationId": "audit", "parameters": [
            {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}, "description": "events with a smaller id (the previous page's `next_before`)"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "at most this many (taken between 1 and 1,000; default 100)"}],
            "responses": Errors { auth: true, params: true, forbidden: true, ..Errors::default() }.responses(json!({"200": json_ok("events", json!({
                "type": "object", "required": ["events", "next_before"],
                "properties": {"events": {"type": "array", "items": schema_ref("AuditRow")}, "next_before": {"type": ["integer", "null"]}}}))}))}},
        "/api/v1/audit/personal-data": {"get": {"summary": "reads of citizens' personal data (the chair's of other agencies' dossiers, every inspector's), newest first (chair, inspector, administrator; an inspector with agencies: the reads of their dossiers)", "operationId": "personal_data_reads", "parameters": [
            {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "taken between 1 and 1,000; default 100"}],
            "responses": Errors { auth: true, params: true, forbidden: true, ..Errors::default() }.responses(json!({"200": json_ok("the reads and the id to page on", json!({
                "type": "object", "required": ["reads", "next_before"], "properties": {
                    "reads": {"type": "array", "items": schema_ref("PersonalDataRead")}, "next_before": {"type": ["integer", "null"]}}}))}))}},
        "/api/v1/backdated": {"get": {"summary": "backdated events recorded in a period: stated and recorded instants, by whom, the reason, the gap in working minutes, and per officer (chair, inspector, administrator)", "operationId": "backdated", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "first local day the events were recorded, YYYY-MM-DD (default: this month's first)"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "last local day, YYYY-MM-DD"},
            {"name": "by", "in": "query", "schema": {"type": "string"}, "description": "one staff account"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}, "description": "at most this many events (default 1,000, at most 10,000)"}],
            "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("backdated events and their count per officer", json!({"type": "object"}))}))}},
        "/api/v1/watchlist": {"get": {"summary": "the inspector's watch list (Directive 34-CT/TU): per agency or officer, the number of dossiers that showed each avoidance signal in the period (their codes: /api/v1/watchlist/dossiers), officers with more than two late dossiers, handoff waits and backdated events; read from aggregates kept by the write path (chair, inspector, administrator)", "operationId": "watchlist", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "first local day, YYYY-MM-DD (default: the first day of `to`'s month); a value that is not a day, or a period longer than three years, is a 422"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "last local day, YYYY-MM-DD (default: today)"},
            {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["agency", "officer"]}, "description": "agency (default) or officer (the staff account; events recorded without one count under `\"\"`, unknown); anything else is a 422"},
            {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "only what is held against this agency; an unknown code is a 422"},
            {"name": "as_of", "in": "query", "schema": query_instant("the instant the list is judged at (default now): occurrences after it are not counted, nor the daily sums of later days")},
            {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": format!("sort the rows by this column, largest first (default `flagged`): key, {}; anything else is a 422", motcua_core::watchlist::SORT_COLUMNS.join(", "))},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}, "description": "json (default) or csv (UTF-8 with a byte-order mark); anything else is a 422"},
            {"name": "lang", "in": "query", "schema": {"type": "string"}, "description": "the CSV's headings: vi (default) or en; anything else is vi"}],
            "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": {"description": "the watch list",
                "content": {"application/json": {"schema": schema_ref("WatchList")}, "text/csv": {"schema": {"type": "string"}}}}}))}},
        "/api/v1/watchlist/dossiers": {"get": {"summary": "the dossiers behind one count of the watch list, a page at a time in code order (the link each count stands for): the filters of the list, the kind (`signal`) and the row (`key`); read from the occurrences the write path keeps (chair, inspector, administrator)", "operationId": "watchlist_dossiers", "parameters": [
            {"name": "signal", "in": "query", "required": true, "schema": {"type": "string", "enum": motcua_core::watchlist::WatchKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>()}, "description": "the kind of the count; missing or unknown is a 422"},
            {"name": "key", "in": "query", "schema": {"type": "string"}, "description": "the row: an agency's code (`by=agency`) or an officer's account (`by=officer`; empty: events recorded without one); none: the total"},
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "first local day, as the list"},
            {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "last local day, as the list"},
            {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["agency", "officer"]}, "description": "how `key` is read: agency (default) or officer"},
            {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "only what is held against this agency, as the list"},
            {"name": "as_of", "in": "query", "schema": query_instant("the instant the list is judged at (default now)")},
            page_param(), per_page_param(),
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}, "description": "json (default) or csv (the page's codes, UTF-8 with a byte-order mark); anything else is a 422"},
            {"name": "lang", "in": "query", "schema": {"type": "string"}, "description": "the CSV's heading: vi (default) or en"}],
            "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": {"description": "one page of the count's dossiers",
                "content": {"application/json": {"schema": {"type": "object", "required": ["from", "to", "as_of", "by", "agency", "signal", "key", "total", "page", "per_page", "first", "last", "dossiers"], "properties": {
                    "from": {"type": "string"}, "to": {"type": "string"}, "as_of": {"type": "string"}, "by": {"type": "string", "enum": ["agency", "officer"]},
                    "agency": {"type": ["string", "null"]}, "signal": {"type": "string", "enum": motcua_core::watchlist::WatchKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>()}, "key": {"type": ["string", "null"]},
                    "total": {"type": "integer", "minimum": 0}, "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
                    "first": {"type": "integer", "minimum": 0}, "last": {"type": "integer", "minimum": 0},
                    "dossiers": {"type": "array", "items": {"type": "string"}}}}},
                    "text/csv": {"schema": {"type": "string"}}}}}))}},
        "/api/v1/staff": {"get": {"summary": "staff accounts (administrator)", "operationId": "staff",
            "responses": Errors { auth: true, forbidden: true, ..Errors::default() }.responses(json!({"200": json_ok("staff", json!({
                "type": "object", "required": ["staff"], "properties": {"staff": {"type": "array", "items": schema_ref("Staff")}}}))}))}},
        "/api/v1/staff/{username}/unlock": {"post": {"summary": "end the lockout of an account name after repeated wrong passwords (administrator)", "operationId": "unlock_staff",
            "parameters": [{"name": "username", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": Errors { auth: true, write: true, forbidden: true, params: true, ..Errors::default() }.responses(json!({"200": json_ok("whether a count or a lock was cleared", json!({
                "type": "object", "required": ["username", "cleared"], "properties": {"username": {"type": "string"}, "cleared": {"type": "boolean"}}}))}))}},
        "/api/v1/staff/{username}/tokens": {"get": {"summary": "an account's API tokens (administrator)", "operationId": "staff_tokens",
            "parameters": [{"name": "username", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": Errors { auth: true, params: true, forbidden: true, not_found: true, ..Errors::default() }.responses(json!({"200": token_list()}))}},
        "/api/v1/lookup": {"post": {"summary": "public lookup by code and ID number (rate limited per client; any mismatch is the same 404)", "operationId": "lookup", "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "properties": {"code": {"type": "string"}, "id_number": {"type": "string"}, "lang": {"type": "string", "description": "`en` for English texts; anything else Vietnamese"}},
                "required": ["code", "id_number"]}}}},
            "responses": Errors { body: true, not_found: true, rate_limited: true, ..Errors::default() }.responses(json!({"200": json_ok("the public view", schema_ref("PublicDossier"))}))}},
        "/api/v1/board": {"get": {"summary": "this month's on-time figures per agency (public)", "operationId": "board", "security": [],
            "responses": {"200": json_ok("board", schema_ref("Board"))}}},
    });
    if let Value::Object(m) = more {
        paths.extend(m);
    }
    petition_paths(&mut paths, &agencies);
    hall_paths(&mut paths);
    let problem_types: Vec<Value> = ProblemKind::ALL
        .iter()
        .map(|k| json!({"type": k.type_uri(), "title": k.title(), "status": k.status().as_u16()}))
        .collect();
    let type_uris: Vec<Value> = ProblemKind::ALL.iter().map(|k| json!(k.type_uri())).collect();
    let mut codes: Vec<u16> = ProblemKind::ALL.iter().map(|k| k.status().as_u16()).collect();
    codes.sort_unstable();
    codes.dedup();
    let nullable_string = json!({"type": ["string", "null"]});
    let nullable_agency = json!({"type": ["string", "null"]});
    let watch_kinds: Vec<Value> = motcua_core::watchlist::WatchKind::ALL.iter().map(|k| json!(k.name())).collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "motcua API", "version": "1", "description": "One-stop-shop dossiers: intake, transitions, queues, reports, public lookup. Every error is an RFC 9457 problem (`application/problem+json`); x-problem-types lists every type. A method a path does not answer is a 405 problem with `Allow`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (mct_…)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "motcua_session", "description": "writes also need the X-CSRF-Token header"}
            },
            "schemas": {
                "Token": {"type": "object", "description": "an API token as its owner and administrators see it; never its secret",
                    "required": ["id", "username", "name", "state", "created_at", "expires_at", "last_used_at", "revoked_at"], "properties": {
                    "id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"},
                    "state": {"type": "string", "enum": ["active", "expired", "revoked"]},
                    "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                    "last_used_at": {"type": ["string", "null"], "description": "recorded at most once a minute"},
                    "revoked_at": {"type": ["string", "null"]}}},
                "PersonalDataRead": {"type": "object", "required": ["id", "staff", "code", "subject", "route", "fields", "read_at"], "properties": {
                    "id": {"type": "integer"}, "staff": {"type": "string", "description": "the account that read"},
                    "code": {"type": "string", "description": "the dossier's code, or the petition's (PA-/KN-/TC-…)"},
                    "subject": {"type": "string", "enum": ["dossier", "petition"]}, "route": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "string", "enum": ["name", "id_number", "phone", "email", "address"]}},
                    "read_at": {"type": "string", "format": "date-time"}}},
                "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": {"type": "string", "enum": type_uris}, "title": {"type": "string"},
                    "status": {"type": "integer", "enum": codes}, "detail": {"type": "string"}}},
                "Intake": {"type": "object", "required": ["procedure", "agency", "applicant"], "properties": {
                    "procedure": {"type": "string", "enum": procedures},
                    "agency": {"type": "string", "enum": agencies, "description": "receiving desk: one of the account's agencies"},
                    "applicant": {"type": "string", "description": "one line, 1–200 characters, no control characters"},
                    "email": {"type": ["string", "null"], "description": "an address a mailer can use (dot-atom local part, a domain); empty or null: none"},
                    "phone": {"type": ["string", "null"]},
                    "id_number": {"type": ["string", "null"], "description": "9 or 12 digits"},
                    "address": {"type": ["string", "null"], "description": "at most 500 characters"},
                    "channel": {"enum": ["", "in_person", "postal", null], "description": "default in_person; ignored for an online submission"},
                    "at": instant(AT_DESCRIPTION),
                    "backdate_reason": backdate_reason(),
                    "documents": {"type": "array", "maxItems": 40, "description": "the document checklist the receipt prints (Mẫu 01's Bản chính / Bản sao / Bản photo columns); kept with the intake event",
                        "items": schema_ref("DocumentLine")},
                    "digitised": {"type": ["array", "null"], "items": {"type": "string"}, "description": "the names of the checklist's papers the desk digitised ([]: none; null: not said)"},
                    "ticket": {"type": ["string", "null"], "description": "the hall ticket the citizen was served from: its id (HCC-260310-A-023) or its number (A-023) at the receiving agency's hall that day; the dossier is linked to it. A ticket that does not exist is a 404 (by id) or a 422 (by number), one that was a no-show, left or closed a 409 `ticket-state`; nothing is written"}}},
                "DocumentLine": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 300, "description": "one line, no control characters"},
                    "copy": {"type": "string", "enum": ["", "original", "copy", "photocopy"], "description": "bản chính / bản sao / bản photo; empty: original"},
                    "count": {"type": "integer", "minimum": 1, "maximum": 99, "description": "default 1"}}},
                "Staff": {"type": "object", "required": ["id", "username", "display_name", "role", "disabled", "agencies", "created_at"], "properties": {
                    "id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                    "role": {"type": "string", "enum": ["desk", "agency", "head", "chair", "admin", "inspector"]}, "disabled": {"type": "boolean"},
                    "agencies": {"type": "array", "items": {"type": "string"}}, "created_at": {"type": "string", "format": "date-time"}}},
                "Account": {"type": "object", "required": ["staff", "csrf_token"], "properties": {
                    "staff": schema_ref("Staff"), "csrf_token": {"type": "string"}}},
                "Catalog": {"type": "object", "required": ["agencies", "procedures"], "properties": {
                    "agencies": {"type": "array", "items": {"type": "object", "required": ["code", "name", "name_en", "kind", "parent"], "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"}, "kind": {"type": "string"}, "parent": nullable_agency}}},
                    "procedures": {"type": "array", "items": {"type": "object", "required": ["code", "name", "name_en", "level", "time_limit", "cutoff", "supplement_mode", "documents", "route", "fee", "fee_basis"], "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
                        "time_limit": {"type": "object", "minProperties": 1, "maxProperties": 1},
                        "cutoff": nullable_string, "supplement_mode": {"type": "string", "enum": ["restart", "pause"]},
                        "documents": {"type": "array", "items": {"type": "string"}}, "route": {"type": "array"},
                        "fee": {"oneOf": [
                            {"type": "null", "description": "the catalog does not say (never read as zero)"},
                            {"type": "object", "required": ["kind", "vnd"], "properties": {"kind": {"const": "fixed"}, "vnd": {"type": "integer", "minimum": 0}}, "description": "one amount in VND (0: free)"},
                            {"type": "object", "required": ["kind", "options"], "properties": {"kind": {"const": "options"}, "options": {"type": "array", "maxItems": 10, "items": {"type": "object", "required": ["name", "vnd"], "properties": {"name": {"type": "string"}, "vnd": {"type": "integer", "minimum": 0}}}}}, "description": "named options, each in VND; a payment request names its amount"}],
                            "description": "the fee schedule (phí, lệ phí) in VND, as config/catalog has it"},
                        "fee_basis": nullable_string}}}}},
                "Dossier": {"type": "object", "description": "motcua_core::view::DossierView, as `motcua show --json`; to a reader none of whose agencies received or held the dossier (and without the city-wide role) the applicant is \"***\"",
                    "required": ["code", "procedure", "procedure_name", "receiving_agency", "applicant", "channel", "status", "status_name", "status_name_vi",
                                 "as_of", "registered_at", "received_at", "start_at", "due_at", "original_due_at", "rescheduled_to", "finished_at", "outcome",
                                 "returned_at", "timeliness", "state", "state_vi", "overdue", "at_risk", "late_working_minutes", "remaining_working_minutes", "holder",
                                 "supplement_count", "handoffs", "dwell", "attribution", "bounces", "signals", "explanation", "explanation_en"],
                    "properties": {
                        "code": {"type": "string"}, "procedure": {"type": "string"}, "procedure_name": {"type": "string"},
                        "receiving_agency": {"type": "string"}, "applicant": {"type": "string"},
                        "channel": {"type": "string", "enum": ["in_person", "online", "postal"]},
                        "status": {"type": "integer", "enum": statuses}, "status_name": {"type": "string", "enum": status_names}, "status_name_vi": {"type": "string"},
                        "as_of": {"type": "string", "format": "date-time"},
                        "registered_at": nullable_string, "received_at": nullable_string, "start_at": nullable_string, "due_at": nullable_string,
                        "original_due_at": nullable_string, "rescheduled_to": nullable_string, "finished_at": nullable_string, "returned_at": nullable_string,
                        "outcome": {"enum": ["approved", "refused", null]},
                        "timeliness": {"enum": ["early", "on_time", "late", null]},
                        "state": {"enum": ["in_time", "overdue", "waiting_for_citizen", null]}, "state_vi": nullable_string,
                        "overdue": {"type": "boolean"}, "at_risk": {"type": "boolean"},
                        "late_working_minutes": {"type": "integer"}, "remaining_working_minutes": {"type": ["integer", "null"]},
                        "holder": nullable_agency, "supplement_count": {"type": "integer", "minimum": 0}, "bounces": {"type": "integer", "minimum": 0},
                        "handoffs": {"type": "array"}, "dwell": {"type": "array"}, "attribution": {"type": "array"}, "signals": {"type": "array"},
                        "explanation": {"type": "array", "items": {"type": "string"}}, "explanation_en": {"type": "array", "items": {"type": "string"}}}},
                "WrittenDossier": {"description": "the dossier after a write, with the event just recorded and links", "allOf": [schema_ref("Dossier"), {"type": "object", "required": ["event", "links"], "properties": {
                    "event": schema_ref("LogLine"),
                    "links": {"type": "object", "required": ["self", "page", "receipt", "lookup"], "properties": {
                        "self": {"type": "string"}, "page": {"type": "string"}, "receipt": {"type": "string"}, "lookup": {"type": "string"}}}}}]},
                "ShownDossier": {"description": "the dossier with the applicant's details (masked: only the name, \"***\") and whether they are shown", "allOf": [schema_ref("Dossier"), {"type": "object", "required": ["applicant_details", "personal_data", "log"], "properties": {
                    "personal_data": {"type": "string", "enum": ["shown", "masked"]},
                    "log": {"type": "array", "items": schema_ref("LogLine"), "description": "every event, as stated and as recorded"},
                    "applicant_details": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"}, "id_number": {"type": "string"}, "address": {"type": "string"}}}}}]},
                "LogLine": {"type": "object", "description": "an event with both of its instants (motcua_core::view::LogLine)",
                    "required": ["seq", "kind", "by", "at", "recorded_at", "backdated", "backdated_working_minutes"], "properties": {
                    "seq": {"type": "integer", "minimum": 1}, "kind": {"type": "string"}, "by": {"type": ["string", "null"]},
                    "at": {"type": "string", "description": "as stated"}, "recorded_at": {"type": "string", "description": "as recorded"},
                    "backdated": {"type": "boolean"}, "backdated_working_minutes": {"type": ["integer", "null"]},
                    "backdate_reason": {"type": "string"}}},
                "Event": {"type": "object", "required": ["at", "type"], "properties": {
                    "at": {"type": "string", "format": "date-time"}, "by": {"type": "string"}, "type": {"type": "string"}}},
                "DossierRow": {"type": "object", "description": "a dossier's projection row in a list; personal_data says whether the applicant_* fields are shown or masked (applicant_name \"***\", the others null)", "required": ["code", "procedure", "receiving_agency", "lead_agency", "channel", "status", "holder", "handoff_pending", "applicant_name", "due_at", "at_risk", "last_event_at", "personal_data"], "properties": {
                    "code": {"type": "string"}, "procedure": {"type": "string"}, "receiving_agency": {"type": "string"}, "lead_agency": {"type": "string"},
                    "channel": {"type": "string", "enum": ["in_person", "online", "postal"]},
                    "status": {"type": "string", "enum": status_names}, "holder": nullable_agency, "handoff_pending": {"type": "boolean"},
                    "handoff_from": nullable_agency, "handoff_sent_at": nullable_string,
                    "applicant_name": {"type": "string"}, "due_at": nullable_string, "at_risk": {"type": "boolean"},
                    "waiting_kind": {"enum": ["supplement", "payment", null]},
                    "applicant_id_number": {"type": ["string", "null"]}, "applicant_phone": {"type": ["string", "null"]},
                    "applicant_email": {"type": ["string", "null"]}, "applicant_address": {"type": ["string", "null"]},
                    "personal_data": {"type": "string", "enum": ["shown", "masked"]}, "last_event_at": {"type": "string", "format": "date-time"}}},
                "QueueItem": {"allOf": [schema_ref("DossierRow"), {"type": "object", "required": ["urgency", "remaining_working_minutes"], "properties": {
                    "urgency": {"type": "string", "enum": ["overdue", "due_today", "at_risk", "normal", "waiting"]},
                    "remaining_working_minutes": {"type": ["integer", "null"]}}}]},
                "Counts": {"type": "object", "required": ["received", "finished", "early", "on_time", "late", "in_time", "overdue", "waiting_for_citizen", "national_population", "national_on_time", "on_time_rate_national", "progress_score", "on_time_rate_resolved"], "properties": {
                    "received": {"type": "integer", "minimum": 0}, "finished": {"type": "integer", "minimum": 0}, "early": {"type": "integer", "minimum": 0},
                    "on_time": {"type": "integer", "minimum": 0}, "late": {"type": "integer", "minimum": 0}, "in_time": {"type": "integer", "minimum": 0},
                    "overdue": {"type": "integer", "minimum": 0}, "waiting_for_citizen": {"type": "integer", "minimum": 0}, "national_population": {"type": "integer", "minimum": 0}, "national_on_time": {"type": "integer", "minimum": 0},
                    "on_time_rate_national": {"type": "number", "minimum": 0, "maximum": 1}, "progress_score": {"type": "number"},
                    "on_time_rate_resolved": {"type": "number", "minimum": 0, "maximum": 1}}},
                "WatchCell": {"type": "object", "description": "how many dossiers; their codes are read from /api/v1/watchlist/dossiers with the same filters, the kind and the row's key", "required": ["count"], "properties": {
                    "count": {"type": "integer", "minimum": 0}}},
                "WatchRow": {"type": "object", "required": ["key", "name", "signals", "backdated", "handoffs"], "properties": {
                    "key": {"type": "string", "description": "the agency's code, or the officer's account (`\"\"`: unknown)"},
                    "name": {"type": "string"},
                    "signals": {"type": "object", "description": "one cell per kind (docs/rules.md, \"The watch list\")", "required": watch_kinds.clone(),
                        "properties": watch_kinds.iter().map(|k| (k.as_str().unwrap_or_default().to_string(), schema_ref("WatchCell"))).collect::<Map<String, Value>>(),
                        "additionalProperties": false},
                    "backdated": {"type": "object", "required": ["events", "gap_minutes"], "properties": {
                        "events": {"type": "integer", "minimum": 0}, "gap_minutes": {"type": "integer", "description": "working minutes between stated and recorded instants, summed"}}},
                    "handoffs": {"type": "object", "required": ["handoffs", "minutes", "max_minutes"], "properties": {
                        "handoffs": {"type": "integer", "minimum": 0, "description": "handoffs accepted"},
                        "minutes": {"type": "integer", "description": "their waits from transfer to acceptance, working minutes summed"},
                        "max_minutes": {"type": "integer"}}}}},
                "WatchList": {"type": "object", "required": ["from", "to", "as_of", "by", "agency", "sort", "rows", "total", "late_officers", "handoff_waits", "supplements_twice"], "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                    "as_of": {"type": "string", "format": "date-time"},
                    "by": {"type": "string", "enum": ["agency", "officer"]},
                    "agency": nullable_agency.clone(),
                    "sort": {"type": "string"},
                    "rows": {"type": "array", "items": schema_ref("WatchRow")},
                    "total": schema_ref("WatchRow"),
                    "late_officers": {"type": "array", "description": "officers with more than two late dossiers in the period, most first", "items": {"type": "object", "required": ["officer", "late"], "properties": {
                        "officer": {"type": ["string", "null"], "description": "null: unknown"}, "late": schema_ref("WatchCell")}}},
                    "handoff_waits": {"type": "array", "description": "agencies by their average wait before accepting a handoff, longest first", "items": {"type": "object",
                        "required": ["agency", "name", "handoffs", "average_minutes", "max_minutes", "slow"], "properties": {
                        "agency": {"type": "string"}, "name": {"type": "string"}, "handoffs": {"type": "integer", "minimum": 0},
                        "average_minutes": {"type": "integer"}, "max_minutes": {"type": "integer"}, "slow": schema_ref("WatchCell")}}},
                    "supplements_twice": schema_ref("WatchCell")}},
                "Report": {"type": "object", "required": ["from", "to", "period_start", "period_end", "by", "definitions", "rows", "total"], "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                    "period_start": {"type": "string", "format": "date-time"}, "period_end": {"type": "string", "format": "date-time"},
                    "by": {"type": "string", "enum": ["agency", "procedure", "month"]}, "definitions": {"type": "object"},
                    "rows": {"type": "array", "items": {"allOf": [schema_ref("Counts"), {"type": "object", "required": ["key", "name"], "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}]}},
                    "total": schema_ref("Counts")}},
                "Indicator": {"type": "object", "required": ["numerator", "denominator", "value", "points", "max_points", "target", "meets"], "properties": {
                    "numerator": {"type": "integer", "minimum": 0}, "denominator": {"type": "integer", "minimum": 0},
                    "value": {"type": ["number", "null"], "description": "numerator ÷ denominator (0–1; average_days_2_2: working days; fees_collected_vnd: VND); null when the denominator is 0"},
                    "points": {"type": ["number", "null"]}, "max_points": {"type": ["number", "null"]},
                    "target": {"type": ["number", "null"]}, "meets": {"type": ["boolean", "null"]},
                    "citizen": {"type": "integer"}, "agency": {"type": "integer"}, "unknown": {"type": "integer"}, "by_code": {"type": "object", "additionalProperties": {"type": "integer"}}}},
                "ScoreRow": {"type": "object", "required": motcua_core::scorecard::INDICATORS, "properties": motcua_core::scorecard::INDICATORS.iter().map(|k| (k.to_string(), schema_ref("Indicator"))).chain([("key".to_string(), json!({"type": "string"})), ("name".to_string(), json!({"type": "string"}))]).collect::<serde_json::Map<String, Value>>()},
                "Scorecard": {"type": "object", "required": ["from", "to", "period_start", "period_end", "by", "agency", "total", "rows", "unknown"], "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                    "period_start": {"type": "string", "format": "date-time"}, "period_end": {"type": "string", "format": "date-time"},
                    "by": {"type": "string", "enum": ["agency", "month"]}, "agency": {"type": ["string", "null"]},
                    "as_successors": {"type": "boolean"}, "agencies_as_of": {"type": ["string", "null"], "format": "date"},
                    "total": schema_ref("ScoreRow"),
                    "rows": {"type": "array", "items": {"allOf": [schema_ref("ScoreRow"), {"type": "object", "required": ["key", "name"]}]}},
                    "unknown": {"type": "object", "required": ["digitised", "electronic_result", "payment", "delay_reason"], "properties": {
                        "digitised": {"type": "integer"}, "electronic_result": {"type": "integer"}, "payment": {"type": "integer"}, "delay_reason": {"type": "integer"}}}}},
                "AuditRow": {"type": "object", "required": ["id", "code", "kind", "at", "by", "recorded_at"], "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "kind": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "by": nullable_string, "recorded_at": {"type": "string", "format": "date-time"}}},
                "PublicDossier": {"type": "object", "required": ["code", "procedure", "procedure_name", "receiving_unit", "status", "status_name", "received_at", "due_at", "overdue", "waiting_for_citizen", "remaining", "supplement", "delay", "steps", "explanation", "can_rate", "rating", "hall_time"], "properties": {
                    "hall_time": {"description": "received from a hall ticket (`intake --ticket`): the time the citizen waited in the hall before the dossier's clock started, from taking the number to the first call and to the receipt, in whole minutes — a separate figure, not part of the statutory time limit; null otherwise",
                        "type": ["object", "null"], "required": ["ticket", "number", "issued_at", "called_at", "received_at", "wait_to_call_minutes", "wait_to_receipt_minutes", "note"], "properties": {
                        "ticket": {"type": "string"}, "number": {"type": "string"}, "issued_at": {"type": "string"}, "called_at": {"type": "string"}, "received_at": {"type": "string"},
                        "wait_to_call_minutes": {"type": ["integer", "null"], "minimum": 0}, "wait_to_receipt_minutes": {"type": "integer", "minimum": 0}, "note": {"type": "string"}}},
                    "delay": {"type": ["object", "null"], "required": ["code", "cause", "reason", "text"], "properties": {"code": {"type": "string"}, "cause": {"enum": ["citizen", "agency"]}, "reason": {"type": "string"}, "text": {"type": "string"}}},
                    "code": {"type": "string"}, "procedure": {"type": "string"}, "procedure_name": {"type": "string"}, "receiving_unit": {"type": "string"},
                    "status": {"type": "integer", "enum": statuses}, "status_name": {"type": "string"},
                    "received_at": {"type": "string"}, "due_at": {"type": "string"}, "overdue": {"type": "boolean"}, "waiting_for_citizen": {"type": "boolean"}, "remaining": {"type": "string"},
                    "supplement": {"description": "while the dossier waits for a supplement: when it was asked (dd/mm/yyyy HH:MM, +07:00), why, and the papers asked for; null otherwise",
                        "type": ["object", "null"], "required": ["requested_at", "reason", "documents"], "properties": {
                        "requested_at": {"type": "string"}, "reason": {"type": "string"}, "documents": {"type": "array", "items": {"type": "string"}}}},
                    "steps": {"type": "array", "items": {"type": "object", "required": ["unit", "action", "from", "until", "timeliness", "remaining"]}},
                    "explanation": {"type": "array", "items": {"type": "string"}}, "can_rate": {"type": "boolean"},
                    "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5}}},
                "HallWaitReport": {"type": "object", "required": ["from", "to", "by", "definitions", "rows", "total"], "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}, "by": {"enum": ["agency", "procedure", "month"]},
                    "agency_filter": {"type": ["string", "null"]}, "definitions": {"type": "object"},
                    "rows": {"type": "array", "items": schema_ref("HallWaitRow")}, "total": schema_ref("HallWaitRow")}},
                "HallWaitRow": {"type": "object", "required": ["key", "name", "finished", "linked", "hall_wait_minutes", "processing_minutes", "whole_minutes"], "properties": {
                    "key": {"type": "string"}, "name": {"type": "string"}, "finished": {"type": "integer", "minimum": 0}, "linked": {"type": "integer", "minimum": 0},
                    "hall_wait_minutes": schema_ref("MedianMean"), "processing_minutes": schema_ref("MedianMean"), "whole_minutes": schema_ref("MedianMean")}},
                "MedianMean": {"type": "object", "required": ["median", "mean"], "properties": {"median": {"type": ["integer", "null"]}, "mean": {"type": ["number", "null"]}}},
                "Board": {"type": "object", "required": ["from", "to", "as_of", "rows", "total"], "properties": {
                    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}, "as_of": {"type": "string"},
                    "rows": {"type": "array", "items": schema_ref("BoardRow")}, "total": schema_ref("BoardRow")}},
                "BoardRow": {"type": "object", "required": ["agency", "name", "received", "finished", "on_time", "late", "overdue", "waiting_for_citizen", "on_time_rate", "national_rate", "ratings", "satisfaction"], "properties": {
                    "agency": {"type": "string"}, "name": {"type": "string"}, "received": {"type": "integer", "minimum": 0}, "finished": {"type": "integer", "minimum": 0},
                    "on_time": {"type": "integer", "minimum": 0}, "late": {"type": "integer", "minimum": 0}, "overdue": {"type": "integer", "minimum": 0},
                    "waiting_for_citizen": {"type": "integer", "minimum": 0},
                    "on_time_rate": {"type": "string"}, "national_rate": {"type": "string"}, "ratings": {"type": "integer", "minimum": 0}, "satisfaction": {"type": "string"}}}
            }
        },
        "x-problem-types": problem_types,
    });
    // An online submission takes the same fields; its channel is always online, whatever is sent.
    // A request the demo desk officer's token can send as is (a desk of the centre).
    doc["components"]["schemas"]["Intake"]["example"] = json!({
        "procedure": "1.004628", "agency": "000.00.02.H17", "applicant": "Trần Thị Bình",
        "id_number": "048190000123", "phone": "0905123456", "channel": "in_person"
    });
    let mut submission = doc["components"]["schemas"]["Intake"].clone();
    submission["properties"]["channel"] =
        json!({"type": ["string", "null"], "description": "ignored: a submission is online"});
    // No hall ticket online (one sent is a 422).
    if let Some(p) = submission["properties"].as_object_mut() {
        p.remove("ticket");
    }
    doc["components"]["schemas"]["Submission"] = submission;
    doc
}

/// `/api/v1/petitions…`: petitions, complaints and denunciations (crates/server/src/petitions.rs).
fn petition_paths(paths: &mut Map<String, Value>, agencies: &[Value]) {
    let code = json!({"name": "petition", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^(PA|KN|TC)-[0-9]{6}-[0-9]{4}$"}, "example": "KN-260622-0001",
        "description": "the item's code (PA-, KN- or TC-, yyMMdd, sequence); one that does not exist is a 404"});
    let item = json!({"type": "object", "required": ["code", "kind", "status", "agency", "next_step", "next_due_at", "urgency"], "properties": {
        "code": {"type": "string"}, "kind": {"type": "string", "enum": ["petition", "complaint", "denunciation"]},
        "status": {"type": "string", "enum": motcua_core::petition::ItemStatus::ALL.iter().map(|s| s.name()).collect::<Vec<_>>()},
        "agency": {"type": "string"}, "rule_set": {"type": "string", "enum": ["laws_2011", "law_136_2025"]},
        "next_step": {"type": ["string", "null"], "enum": ["decide", "resolve", null]},
        "next_due_at": {"type": ["string", "null"], "format": "date-time", "description": "the due instant of the next step (docs/rules.md)"},
        "urgency": {"type": "string", "enum": ["overdue", "due_soon", "in_time", "none"]},
        "decide_late": {"type": ["boolean", "null"]}, "resolve_late": {"type": ["boolean", "null"]},
        "answer": {"type": ["string", "null"]}, "item": {"type": "object", "description": "the full state core derives from the log"}}});
    let write = Errors {
        auth: true,
        write: true,
        forbidden: true,
        params: true,
        body: true,
        not_found: true,
        conflict: true,
        ..Errors::default()
    };
    let step = |summary: &str, id: &str, body: Value| {
        json!({"post": {"summary": summary, "operationId": id, "parameters": [code.clone()],
            "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
            "responses": write.responses(json!({"200": json_ok("the item after the step", item.clone())}))}})
    };
    let reason = json!({"type": "string", "description": "one paragraph, at most 2,000 characters"});
    let entries = [
        (
            "/api/v1/petitions".to_string(),
            json!({
            "get": {"summary": "items of the account's agencies (all, for the chair, the administrator and an inspector of the whole city): open ones most urgent first, with their urgency", "operationId": "petitions",
                "parameters": [
                    {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "one agency the account reads; another is a 403"},
                    {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["petition", "complaint", "denunciation"]}},
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "open", "in": "query", "schema": {"type": "boolean"}, "description": "only items owing a step"},
                    {"name": "dossier", "in": "query", "schema": {"type": "string"}, "description": "only items about this dossier"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}},
                    {"name": "as_of", "in": "query", "schema": query_instant("the instant urgency is judged at (default now)")}],
                "responses": Errors { auth: true, params: true, forbidden: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("the items",
                    json!({"type": "object", "required": ["as_of", "petitions"], "properties": {"as_of": {"type": "string"}, "petitions": {"type": "array", "items": {"type": "object"}}}}))}))},
            "post": {"summary": "file a petition, complaint or denunciation (desk, agency officer, head): 201 with its code and the due instant of its next step; with `dossier` and no `agency`, routed to the agency the dossier's lateness is attributed to, else its lead agency", "operationId": "file_petition",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["kind", "applicant", "text"], "properties": {
                    "kind": {"type": "string", "enum": ["petition", "complaint", "denunciation"]}, "applicant": {"type": "string"}, "text": {"type": "string"},
                    "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]}, "dossier": {"type": ["string", "null"]},
                    "agency": {"type": ["string", "null"], "enum": agencies.iter().cloned().chain([Value::Null]).collect::<Vec<_>>()},
                    "channel": {"type": ["string", "null"], "enum": ["in_person", "phone", "postal", "online", null]}}}}}},
                "responses": Errors { auth: true, write: true, forbidden: true, body: true, not_found: true, ..Errors::default() }.responses(json!({"201": json_ok("the item filed", item.clone())}))}}),
        ),
        (
            "/api/v1/petitions/{petition}".to_string(),
            json!({"get": {"summary": "an item of the account's agencies, with its log", "operationId": "petition", "parameters": [code.clone()],
            "responses": Errors { auth: true, params: true, forbidden: true, not_found: true, invalid: true, ..Errors::default() }.responses(json!({"200": json_ok("the item", item.clone())}))}}),
        ),
        (
            "/api/v1/petitions/{petition}/accept".to_string(),
            step(
                "accept within competence (thụ lý; agency officer, head)",
                "accept_petition",
                json!({"type": "object", "properties": {"complexity": {"type": "string", "enum": ["ordinary", "complex", "especially_complex"]}, "remote": {"type": "boolean"}}}),
            ),
        ),
        (
            "/api/v1/petitions/{petition}/extend".to_string(),
            step(
                "extend as the law allows (agency officer, head); anything else is a 422",
                "extend_petition",
                json!({"type": "object", "required": ["reason"], "properties": {"reason": reason, "complexity": {"type": "string", "enum": ["complex", "especially_complex"]}}}),
            ),
        ),
        (
            "/api/v1/petitions/{petition}/transfer".to_string(),
            step(
                "hand to another agency of the system (desk, agency officer, head)",
                "transfer_petition",
                json!({"type": "object", "required": ["to"], "properties": {"to": {"type": "string", "enum": agencies}, "reason": reason}}),
            ),
        ),
        (
            "/api/v1/petitions/{petition}/forward".to_string(),
            step(
                "outside competence: forward to a named body (chuyển đơn), or with guide the citizen guided to it (desk, agency officer, head)",
                "forward_petition",
                json!({"type": "object", "required": ["to", "reason"], "properties": {"to": {"type": "string"}, "reason": reason, "guide": {"type": "boolean"}}}),
            ),
        ),
        (
            "/api/v1/petitions/{petition}/answer".to_string(),
            step(
                "answer (resolve) an accepted item; the text is shown to the citizen (agency officer, head)",
                "answer_petition",
                json!({"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}),
            ),
        ),
        (
            "/api/v1/petitions/{petition}/close".to_string(),
            step(
                "any other outcome, with its reason (agency officer, head)",
                "close_petition",
                json!({"type": "object", "required": ["outcome"], "properties": {"outcome": {"type": "string", "enum": ["refused", "archived", "withdrawn", "suspended", "resumed", "terminated"]}, "reason": reason}}),
            ),
        ),
    ];
    for (k, v) in entries {
        paths.insert(k, v);
    }
    paths.insert("/api/v1/lookup/petitions".into(), json!({"post": {
        "summary": "a citizen files a petition, complaint or denunciation without logging in (rate limited per client like the lookup): about a dossier after its code and ID number match (any mismatch is the lookup's 404), or in general for a named agency; 201 with the receipt code and the due instant of the next step; the lookup then lists it with its answer",
        "operationId": "file_petition_public", "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "text"], "properties": {
            "code": {"type": "string"}, "id_number": {"type": "string"}, "agency": {"type": ["string", "null"]},
            "kind": {"type": ["string", "null"], "enum": ["petition", "complaint", "denunciation", null]},
            "name": {"type": "string"}, "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]}, "text": {"type": "string"}}}}}},
        "responses": Errors { body: true, not_found: true, rate_limited: true, ..Errors::default() }.responses(json!({"201": json_ok("the receipt", json!({"type": "object",
            "required": ["code", "kind", "status", "next_step", "next_due_at"], "properties": {"code": {"type": "string"}, "kind": {"type": "string"}, "status": {"type": "string"},
            "next_step": {"type": ["string", "null"]}, "next_due_at": {"type": ["string", "null"], "format": "date-time"}}}))}))}}));
}

/// `/api/v1/halls…`: the reception hall (crates/server/src/hall.rs, docs/hall.md).
fn hall_paths(paths: &mut Map<String, Value>) {
    let hall = json!({"name": "hall", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Z0-9]{2,12}$"}, "example": "HCC",
        "description": "the hall's code (config/catalog/halls.toml); an unknown hall is a 404"});
    let counter = json!({"name": "counter", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 65535}, "example": 1});
    let ticket = json!({"name": "ticket", "in": "path", "required": true, "schema": {"type": "string"}, "example": "HCC-250310-A-001",
        "description": "the ticket's id: hall, yyMMdd, area letter, number; an unknown one is a 404"});
    let booking = json!({"name": "booking", "in": "path", "required": true, "schema": {"type": "string"}, "example": "ABCD2345",
        "description": "the booking code (8 letters and digits)"});
    let day = json!({"name": "day", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "a local day (default today)"});
    let obj = json!({"type": "object"});
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let take_body = json!({"type": "object", "required": ["area"], "properties": {
        "area": {"type": "string", "description": "the area's letter"},
        "priority": {"type": ["string", "null"], "enum": ["merit", "elderly", "disability", "pregnant", "small_child", null]},
        "channel": {"type": ["string", "null"], "enum": ["qr", "kiosk", null]}}});
    let read = Errors { auth: true, params: true, not_found: true, invalid: true, ..Errors::default() };
    let public_read = Errors { params: true, not_found: true, invalid: true, ..Errors::default() };
    let counter_write = Errors {
        auth: true,
        write: true,
        forbidden: true,
        params: true,
        body: true,
        not_found: true,
        conflict: true,
        ..Errors::default()
    };
    let public_write =
        Errors { params: true, body: true, not_found: true, conflict: true, rate_limited: true, ..Errors::default() };
    let entries = [
        (
            "/api/v1/halls",
            json!({"get": {"summary": "the halls in force, with their areas, counters and who is signed in where", "operationId": "halls",
            "parameters": [{"name": "on", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "responses": read.responses(json!({"200": json_ok("the halls", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/queue",
            json!({"get": {"summary": "a hall's tickets of a day, in the order issued", "operationId": "hall_queue",
            "parameters": [hall.clone(), day.clone()], "responses": read.responses(json!({"200": json_ok("the tickets", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/report",
            json!({"get": {"summary": "tickets issued by channel, served, no-show; waiting and service times (p50, p90, max, mean); the share within the waiting target; ratings — per hall, area, counter, officer or day", "operationId": "hall_report",
            "parameters": [hall.clone(), {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}}, {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["hall", "area", "counter", "officer", "day"]}},
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}],
            "responses": read.responses(json!({"200": {"description": "the report (JSON, or CSV with format=csv)",
                "content": {"application/json": {"schema": obj.clone()}, "text/csv": {"schema": {"type": "string"}}}}}))}}),
        ),
        (
            "/api/v1/halls/{hall}/tickets",
            json!({"post": {"summary": "a walk-in's number, given by a desk officer of the hall's agency: 201 with the ticket", "operationId": "hall_walk_in",
            "parameters": [hall.clone()], "requestBody": body(take_body.clone()),
            "responses": counter_write.responses(json!({"201": json_ok("the ticket", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/counters/{counter}/sign-in",
            json!({"post": {"summary": "the desk officer signs in at the counter (out of any other)", "operationId": "hall_sign_in",
            "parameters": [hall.clone(), counter.clone()], "responses": counter_write.responses(json!({"200": json_ok("signed in", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/counters/{counter}/sign-out",
            json!({"post": {"summary": "the desk officer signed in at the counter signs out", "operationId": "hall_sign_out",
            "parameters": [hall.clone(), counter.clone()], "responses": counter_write.responses(json!({"200": json_ok("signed out", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/counters/{counter}/call",
            json!({"post": {"summary": "the counter calls the next citizen by the hall's ordering rule (bookings at their slot, priority by the fairness rule, then the oldest): `called` with the ticket and its lane, or `called: null` and \"no one waiting\"; the officer must be signed in at the counter", "operationId": "hall_call",
            "parameters": [hall.clone(), counter.clone()], "responses": counter_write.responses(json!({"200": json_ok("the call", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/tickets/{ticket}",
            json!({"get": {"summary": "a ticket with its log", "operationId": "hall_ticket",
            "parameters": [ticket.clone()], "responses": read.responses(json!({"200": json_ok("the ticket", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/tickets/{ticket}/{step}",
            json!({"post": {"summary": "a counter's step: recall (`counter`), no-show (after the hall's recalls), start, finish, left, transfer (`area` and/or `counter`; keeps the waiting start), redirect (`area`: a finished ticket's second service, a new linked ticket, 201)", "operationId": "hall_ticket_step",
            "parameters": [ticket.clone(), {"name": "step", "in": "path", "required": true, "schema": {"type": "string", "enum": crate::hall::STEPS}}],
            "requestBody": body(json!({"type": "object", "properties": {"counter": {"type": ["integer", "null"], "minimum": 0, "maximum": 65535}, "area": {"type": ["string", "null"]}}})),
            "responses": counter_write.responses(json!({"200": json_ok("the ticket", obj.clone()), "201": json_ok("the new ticket (redirect)", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/take",
            json!({"post": {"summary": "a citizen takes a number without login (the QR page, the kiosk): 201 with the number, how many wait ahead and the estimated wait; limited per client and per hall (429); refused outside office hours (422 `hall-closed`) and past the day's capacity (409 `hall-capacity-reached`)", "operationId": "hall_take", "security": [],
            "parameters": [hall.clone()], "requestBody": body(take_body),
            "responses": public_write.responses(json!({"201": json_ok("the ticket", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/state",
            json!({"get": {"summary": "the hall's screens' state: the last calls and the numbers waiting per area", "operationId": "hall_state", "security": [],
            "parameters": [hall.clone()], "responses": public_read.responses(json!({"200": json_ok("the state", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/events",
            json!({"get": {"summary": "server-sent events of the hall: the full `state` first, then `issued`, `called` (with the text announced) and `updated`", "operationId": "hall_events", "security": [],
            "parameters": [hall.clone()], "responses": public_read.responses(json!({"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}}))}}),
        ),
        (
            "/api/v1/halls/{hall}/slots",
            json!({"get": {"summary": "a day's booking slots per area with the places left", "operationId": "hall_slots", "security": [],
            "parameters": [hall.clone(), day, {"name": "area", "in": "query", "schema": {"type": "string"}}],
            "responses": public_read.responses(json!({"200": json_ok("the slots", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/bookings",
            json!({"post": {"summary": "book a slot (no login; limited like taking a number): 201 with the booking code; a full slot, a time that is not a slot or a day off is a 422 `booking-refused`", "operationId": "hall_book", "security": [],
            "parameters": [hall.clone()], "requestBody": body(json!({"type": "object", "required": ["area", "slot", "name"], "properties": {
                "area": {"type": "string"}, "slot": {"type": "string", "description": "local start, 2026-03-10T09:00"}, "name": {"type": "string"},
                "phone": {"type": ["string", "null"]}, "priority": {"type": ["string", "null"]}}})),
            "responses": public_write.responses(json!({"201": json_ok("the booking", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/tickets/{ticket}/position",
            json!({"get": {"summary": "a ticket for its citizen: status, how many wait ahead, the estimated wait, the counter when called", "operationId": "hall_position", "security": [],
            "parameters": [ticket.clone()], "responses": public_read.responses(json!({"200": json_ok("the position", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/tickets/{ticket}/rating",
            json!({"post": {"summary": "the at-counter rating of a finished ticket, once (409 `already-rated`)", "operationId": "hall_rate", "security": [],
            "parameters": [ticket], "requestBody": body(json!({"type": "object", "required": ["rating"], "properties": {
                "rating": {"type": "string", "enum": ["very_satisfied", "satisfied", "neutral", "dissatisfied"]}, "comment": {"type": ["string", "null"]}}})),
            "responses": public_write.responses(json!({"200": json_ok("the ticket", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/{hall}/counters/{counter}/last-finished",
            json!({"get": {"summary": "the counter's last finished ticket of today (`ticket`, null when none), as its citizen sees it: what the counter's rating tablet follows", "operationId": "hall_last_finished", "security": [],
            "parameters": [hall.clone(), counter.clone()], "responses": public_read.responses(json!({"200": json_ok("the counter and its last finished ticket", json!({
                "type": "object", "required": ["hall", "counter", "ticket"], "properties": {
                    "hall": {"type": "string"}, "counter": {"type": "integer"}, "ticket": {"type": ["object", "null"]}}}))}))}}),
        ),
        (
            "/api/v1/halls/bookings/{booking}/cancel",
            json!({"post": {"summary": "cancel a booking before its slot", "operationId": "hall_cancel_booking", "security": [],
            "parameters": [booking.clone()], "responses": public_write.responses(json!({"200": json_ok("the booking", obj.clone())}))}}),
        ),
        (
            "/api/v1/halls/bookings/{booking}/check-in",
            json!({"post": {"summary": "a booked citizen arrives: 201 with a ticket queued at the slot's time; more than the hall's minutes late (10 by default) loses the slot (422)", "operationId": "hall_check_in", "security": [],
            "parameters": [booking], "responses": public_write.responses(json!({"201": json_ok("the ticket", obj)}))}}),
        ),
    ];
    for (k, v) in entries {
        paths.insert(k.to_string(), v);
    }
}
