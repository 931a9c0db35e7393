//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, written by hand next to the
//! handlers it describes (a test checks that every route of the router is in it).

use serde_json::{Value, json};

use crate::perm::Action;
use crate::problem::ProblemKind;

fn problem_ref() -> Value {
    json!({"description": "Problem details (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn dossier_ok(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dossier"}}}})
}

fn errors() -> Value {
    json!({
        "401": problem_ref(), "403": problem_ref(), "404": problem_ref(), "409": problem_ref(),
        "413": problem_ref(), "422": problem_ref()
    })
}

fn with_errors(mut ok: Value) -> Value {
    if let (Some(o), Value::Object(e)) = (ok.as_object_mut(), errors()) {
        o.extend(e);
    }
    ok
}

fn token_list() -> Value {
    json!({"200": {"description": "tokens, newest first", "content": {"application/json": {"schema": {"type": "object", "required": ["tokens"],
        "properties": {"tokens": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}}}}}})
}

fn code_param() -> Value {
    json!({"name": "code", "in": "path", "required": true, "schema": {"type": "string"}, "example": "000.00.02.H17-250303-0001"})
}

const AT_DESCRIPTION: &str = "when it happened (RFC 3339 or local time; default: now). Never after now; at most the backdating window before now (one working day by default), earlier only for an account with the paper-history capability, with backdate_reason";
const REASON_DESCRIPTION: &str =
    "why the action is stated earlier than the backdating window allows (paper history); kept in the event";

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    let action_fields = |a: Action| -> Value {
        let (props, required): (Value, Vec<&str>) = match a {
            Action::Transfer => (json!({"to": {"type": "string", "description": "agency code"}}), vec!["to"]),
            Action::RefuseOnline | Action::Stop => (json!({"reason": {"type": "string"}}), vec!["reason"]),
            Action::RequestSupplement => (
                json!({"reason": {"type": "string"}, "documents": {"type": "array", "items": {"type": "string"}}}),
                vec!["reason"],
            ),
            Action::RequestPayment | Action::Withdraw => (json!({"reason": {"type": "string"}}), vec![]),
            Action::Reschedule => (
                json!({
                    "to": {"type": "string", "description": "YYYY-MM-DD (by that day's closing) or RFC 3339"},
                    "reason": {"type": "string"},
                    "responsible": {"type": "string", "description": "agency code; default the holder"},
                    "override_second": {"type": "boolean"}
                }),
                vec!["to", "reason"],
            ),
            Action::Resolve => (json!({"refused": {"type": "boolean"}, "reason": {"type": "string"}}), vec![]),
            _ => (json!({}), vec![]),
        };
        let mut props = props;
        if let Some(p) = props.as_object_mut() {
            p.insert("at".into(), json!({"type": "string", "description": AT_DESCRIPTION}));
            p.insert("backdate_reason".into(), json!({"type": "string", "description": REASON_DESCRIPTION}));
        }
        json!({"type": "object", "properties": props, "required": required})
    };
    for a in Action::ALL {
        if matches!(a, Action::Intake | Action::Submit) {
            continue;
        }
        paths.insert(
            format!("/api/v1/dossiers/{{code}}/{}", a.name()),
            json!({"post": {
                "summary": format!("{} (see docs/server.md for who may)", a.name()),
                "operationId": a.name().replace('-', "_"),
                "parameters": [code_param()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": action_fields(a)}}},
                "responses": with_errors(json!({"200": dossier_ok("the dossier after the action")})),
            }}),
        );
    }
    let intake_body =
        json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Intake"}}}});
    let ok_json = |d: &str| json!({"200": {"description": d, "content": {"application/json": {}}}});
    let more = json!({
        "/api/v1/openapi.json": {"get": {"summary": "this document", "security": [], "responses": ok_json("OpenAPI 3.1")}},
        "/api/v1/session": {
            "post": {"summary": "log in; sets the session cookie and returns the CSRF token for writes; repeated wrong passwords are throttled (429 with Retry-After) and then locked until an administrator unlocks", "security": [],
                     "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}, "required": ["username", "password"]}}}},
                     "responses": with_errors(json!({"200": {"description": "the account and csrf_token", "content": {"application/json": {}}}, "429": problem_ref()}))},
            "delete": {"summary": "log out", "responses": with_errors(json!({"204": {"description": "logged out"}}))}
        },
        "/api/v1/me": {"get": {"summary": "the authenticated account", "responses": with_errors(ok_json("account"))}},
        "/api/v1/tokens": {
            "post": {"summary": "a new API token for the account logged in with a session (a token cannot make tokens: 403): its secret is in this answer only; it expires after expires_in_days (1 to 365, default 90)",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 90}}}}}},
                "responses": with_errors(json!({"201": {"description": "the token: id, name, expires_at and the secret (token), shown once",
                    "content": {"application/json": {"schema": {"type": "object", "required": ["id", "name", "expires_at", "token"], "properties": {
                        "id": {"type": "integer"}, "name": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}, "token": {"type": "string"}}}}}}}))},
            "get": {"summary": "the authenticated account's API tokens, revoked and expired ones included (never a secret)",
                "responses": with_errors(token_list())}
        },
        "/api/v1/tokens/{id}": {"delete": {"summary": "revoke one of the account's own tokens, or any account's (administrator); a token of another account is not found",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": with_errors(json!({"200": {"description": "the token after it, with revoked_at", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Token"}}}}}))}},
        "/api/v1/catalog": {"get": {"summary": "agencies and procedures", "responses": with_errors(ok_json("agencies and procedures, as `motcua catalog --json`"))}},
        "/api/v1/dossiers": {
            "post": {"summary": "intake at the desk (status 2): allocates the code, starts the clock", "operationId": "intake",
                "requestBody": intake_body, "responses": with_errors(json!({"201": dossier_ok("the new dossier")}))},
            "get": {"summary": "search by an applicant's ID number (the whole number) and/or part of the name (letter case as written): the dossiers one of the account's agencies received or held; the city-wide role (chair) searches every dossier and each one found is recorded as a read of its personal data",
                "operationId": "search",
                "parameters": [
                    {"name": "id_number", "in": "query", "schema": {"type": "string", "maxLength": 20}},
                    {"name": "applicant", "in": "query", "schema": {"type": "string", "minLength": 2, "maxLength": 200}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
                "responses": with_errors(json!({"200": {"description": "the dossiers found, most recently changed first",
                    "content": {"application/json": {"schema": {"type": "object", "required": ["scope", "dossiers"], "properties": {
                        "scope": {"enum": ["own_agencies", "city"]},
                        "dossiers": {"type": "array", "items": {"$ref": "#/components/schemas/ListedDossier"}}}}}}}}))}
        },
        "/api/v1/submissions": {
            "post": {"summary": "an online submission (status 1), to be accepted or refused by the desk", "operationId": "submit",
                     "requestBody": intake_body, "responses": with_errors(json!({"201": dossier_ok("the registered dossier")}))},
            "get": {"summary": "online submissions waiting at the account's desks", "parameters": [{"name": "agency", "in": "query", "schema": {"type": "string"}}], "responses": with_errors(ok_json("submissions"))}
        },
        "/api/v1/dossiers/{code}": {"get": {"summary": "the dossier: state, clocks, control sheet, explanation",
            "parameters": [code_param(), {"name": "as_of", "in": "query", "schema": {"type": "string"}}],
            "responses": with_errors(json!({"200": dossier_ok("the dossier")}))}},
        "/api/v1/dossiers/{code}/events": {"get": {"summary": "the dossier's event log, with the staff account of each event", "parameters": [code_param()], "responses": with_errors(ok_json("events"))}},
        "/api/v1/queue": {"get": {"summary": "open dossiers held by the account's agencies, by urgency (overdue, due today, at risk)",
            "parameters": [{"name": "agency", "in": "query", "schema": {"type": "string"}}], "responses": with_errors(ok_json("queue"))}},
        "/api/v1/report": {"get": {"summary": "on-time report (JSON or CSV)", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "by", "in": "query", "schema": {"enum": ["agency", "procedure", "month"]}},
            {"name": "agency", "in": "query", "schema": {"type": "string"}},
            {"name": "as_of", "in": "query", "schema": {"type": "string"}},
            {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
            "responses": with_errors(ok_json("report"))}},
        "/api/v1/audit": {"get": {"summary": "the event log, newest first (chair, inspector, administrator)", "parameters": [
            {"name": "before", "in": "query", "schema": {"type": "integer"}}, {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": with_errors(ok_json("events"))}},
        "/api/v1/audit/personal-data": {"get": {"summary": "reads of citizens' personal data through the city-wide role, newest first (chair, inspector, administrator)", "parameters": [
            {"name": "before", "in": "query", "schema": {"type": "integer"}}, {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": with_errors(json!({"200": {"description": "the reads and the id to page on", "content": {"application/json": {"schema": {"type": "object", "required": ["reads", "next_before"], "properties": {
                "reads": {"type": "array", "items": {"$ref": "#/components/schemas/PersonalDataRead"}},
                "next_before": {"type": ["integer", "null"]}}}}}}}))}},
        "/api/v1/backdated": {"get": {"summary": "backdated events recorded in a period: stated and recorded instants, by whom, the reason, the gap in working minutes, and per officer (chair, inspector, administrator)", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "by", "in": "query", "schema": {"type": "string"}, "description": "one staff account"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}],
            "responses": with_errors(ok_json("backdated events and their count per officer"))}},
        "/api/v1/staff": {"get": {"summary": "staff accounts (administrator)", "responses": with_errors(ok_json("staff"))}},
        "/api/v1/staff/{username}/unlock": {"post": {"summary": "end the lockout of an account name after repeated wrong passwords (administrator)",
            "parameters": [{"name": "username", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": with_errors(ok_json("username and whether a count or lock was cleared"))}},
        "/api/v1/staff/{username}/tokens": {"get": {"summary": "an account's API tokens (administrator)",
            "parameters": [{"name": "username", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": with_errors(token_list())}},
        "/api/v1/lookup": {"post": {"summary": "public lookup by code and ID number (rate limited; a mismatch is a plain 404)", "security": [],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"code": {"type": "string"}, "id_number": {"type": "string"}}, "required": ["code", "id_number"]}}}},
            "responses": {"200": {"description": "the public view"}, "404": problem_ref(), "429": problem_ref()}}},
        "/api/v1/board": {"get": {"summary": "this month's on-time figures per agency (public)", "security": [], "responses": ok_json("board")}},
    });
    if let Value::Object(m) = more {
        paths.extend(m);
    }
    let problem_types: Vec<Value> = ProblemKind::ALL
        .iter()
        .map(|k| json!({"type": k.type_uri(), "title": k.title(), "status": k.status().as_u16()}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "motcua API", "version": "1", "description": "One-stop-shop dossiers: intake, transitions, queues, reports, public lookup. Errors are RFC 9457 problem details; x-problem-types lists every type."},
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
                    "state": {"enum": ["active", "expired", "revoked"]},
                    "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                    "last_used_at": {"type": ["string", "null"], "format": "date-time", "description": "recorded at most once a minute"},
                    "revoked_at": {"type": ["string", "null"], "format": "date-time"}}},
                "Problem": {"type": "object", "properties": {"type": {"type": "string", "format": "uri"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}, "required": ["type", "title", "status"]},
                "Intake": {"type": "object", "required": ["procedure", "agency", "applicant"], "properties": {
                    "procedure": {"type": "string"}, "agency": {"type": "string", "description": "receiving desk"},
                    "applicant": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"},
                    "id_number": {"type": "string"}, "address": {"type": "string"},
                    "channel": {"enum": ["in_person", "postal"]}, "at": {"type": "string", "description": AT_DESCRIPTION},
                    "backdate_reason": {"type": "string", "description": REASON_DESCRIPTION}}},
                "Dossier": {"type": "object", "description": "motcua_core::view::DossierView plus links; to a reader none of whose agencies received or held the dossier (and without the city-wide role) the applicant is \"***\" and applicant_details has no other field", "properties": {
                    "code": {"type": "string"}, "status": {"type": "integer"}, "status_name": {"type": "string"},
                    "applicant": {"type": "string"},
                    "applicant_details": {"type": "object", "properties": {"name": {"type": "string"}, "id_number": {"type": "string"}, "phone": {"type": "string"}, "email": {"type": "string"}, "address": {"type": "string"}}},
                    "personal_data": {"enum": ["shown", "masked"], "description": "in GET /api/v1/dossiers/{code}"},
                    "due_at": {"type": ["string", "null"]}, "explanation": {"type": "array", "items": {"type": "string"}},
                    "event": {"$ref": "#/components/schemas/LogLine", "description": "after a write: the event just recorded"},
                    "log": {"type": "array", "items": {"$ref": "#/components/schemas/LogLine"}, "description": "GET: every event, as stated and as recorded"}}},
                "LogLine": {"type": "object", "description": "an event with both of its instants (motcua_core::view::LogLine)", "properties": {
                    "seq": {"type": "integer"}, "kind": {"type": "string"}, "by": {"type": ["string", "null"]},
                    "at": {"type": "string", "description": "as stated"}, "recorded_at": {"type": "string", "description": "as recorded"},
                    "backdated": {"type": "boolean"}, "backdated_working_minutes": {"type": ["integer", "null"]},
                    "backdate_reason": {"type": "string"}}},
                "ListedDossier": {"type": "object", "description": "a dossier's projection row in a list; personal_data says whether the applicant_* fields are shown or masked (applicant_name \"***\", the others null)",
                    "required": ["code", "status", "applicant_name", "personal_data"], "properties": {
                    "code": {"type": "string"}, "procedure": {"type": "string"}, "receiving_agency": {"type": "string"},
                    "status": {"type": "integer"}, "holder": {"type": ["string", "null"]},
                    "applicant_name": {"type": "string"}, "applicant_id_number": {"type": ["string", "null"]},
                    "applicant_phone": {"type": ["string", "null"]}, "applicant_email": {"type": ["string", "null"]},
                    "applicant_address": {"type": ["string", "null"]},
                    "personal_data": {"enum": ["shown", "masked"]}}},
                "PersonalDataRead": {"type": "object", "required": ["id", "staff", "code", "route", "fields", "read_at"], "properties": {
                    "id": {"type": "integer"}, "staff": {"type": "string", "description": "the account that read"},
                    "code": {"type": "string"}, "route": {"type": "string"},
                    "fields": {"type": "array", "items": {"enum": ["name", "id_number", "phone", "email", "address"]}},
                    "read_at": {"type": "string", "format": "date-time"}}}
            }
        },
        "x-problem-types": problem_types,
    })
}
