//! `motcua calendar due|between|check` on the shipped calendar.

use crate::support::*;

#[test]
fn due_json_is_one_object_with_the_worked_example() {
    let run = motcua(&["calendar", "due", "--from", "2023-10-27T09:32:00+07:00", "--working-days", "5", "--json"]);
    let v = run.json();
    assert_eq!(v["start_at"], "2023-10-27T09:32:00+07:00");
    assert_eq!(v["due_at"], "2023-11-03T09:32:00+07:00");
    assert!(v["explanation"].as_array().unwrap().len() >= 2);
    assert_eq!(v.as_object().unwrap().len(), 3);
}

#[test]
fn due_after_cutoff_over_tet() {
    let v = motcua(&[
        "calendar",
        "due",
        "--from",
        "2025-01-24T16:40:00+07:00",
        "--working-days",
        "5",
        "--cutoff",
        "15:00",
        "--json",
        "--lang",
        "en",
    ])
    .json();
    assert_eq!(v["start_at"], "2025-02-03T07:30:00+07:00");
    assert_eq!(v["due_at"], "2025-02-07T17:00:00+07:00");
    let text = v["explanation"].to_string();
    assert!(text.contains("after the 15:00 cut-off"), "{text}");
    assert!(text.contains("Tết"), "{text}");
}

#[test]
fn due_in_hours_and_calendar_days() {
    let v =
        motcua(&["calendar", "due", "--from", "2023-10-27T16:00:00+07:00", "--working-hours", "2", "--json"]).json();
    assert_eq!(v["due_at"], "2023-10-30T08:30:00+07:00");
    let v =
        motcua(&["calendar", "due", "--from", "2023-10-02T09:00:00+07:00", "--calendar-days", "26", "--json"]).json();
    assert_eq!(v["due_at"], "2023-10-30T17:00:00+07:00");
    // An instant given in UTC is shown at +07:00.
    let v = motcua(&["calendar", "due", "--from", "2025-12-31T03:00:00Z", "--working-days", "2", "--json"]).json();
    assert_eq!(v["due_at"], "2026-01-06T10:00:00+07:00", "bridge day 2/1/2026");
}

#[test]
fn text_output_names_start_due_and_steps() {
    let run = motcua(&["calendar", "due", "--from", "2026-01-09T10:00:00+07:00", "--working-days", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("due:   2026-01-10T10:00:00+07:00"), "make-up Saturday: {}", run.stdout);
}

#[test]
fn between_in_working_minutes() {
    let v = motcua(&[
        "calendar",
        "between",
        "--from",
        "2025-01-24T16:00:00+07:00",
        "--to",
        "2025-02-03T08:00:00+07:00",
        "--json",
    ])
    .json();
    assert_eq!(v, serde_json::json!({"working_minutes": 90}));
}

#[test]
fn check_prints_working_days_per_year() {
    let run = motcua(&["calendar", "check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in ["2023: 249 working days", "2024: 251 working days", "2025: 250 working days", "2026: 249 working days"]
    {
        assert!(run.stdout.contains(line), "missing {line:?} in {}", run.stdout);
    }
    assert!(run.stdout.contains("2027:") && run.stdout.contains("(provisional)"), "{}", run.stdout);
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    motcua(&["calendar", "due", "--from", "yesterday", "--working-days", "5"]).assert_user_error("invalid instant");
    motcua(&["calendar", "due", "--from", "2025-01-24T16:40:00+07:00", "--working-days", "0"])
        .assert_user_error("at least 1");
    motcua(&["calendar", "due", "--from", "2025-01-24T16:40:00+07:00", "--working-days", "-4"])
        .assert_user_error("at least 1");
    motcua(&["calendar", "due", "--from", "2025-01-24T16:40:00+07:00", "--working-days", "99999999"])
        .assert_user_error("beyond the largest");
    motcua(&["calendar", "due", "--from", "2025-01-24T16:40:00+07:00", "--working-days", "5", "--cutoff", "25:00"])
        .assert_user_error("invalid time");
    motcua(&["calendar", "due", "--from", "2031-01-24T16:40:00+07:00", "--working-days", "5"])
        .assert_user_error("outside the calendar's coverage");
    motcua(&["calendar", "due", "--from", "2025-01-24T16:40:00+07:00"]).assert_user_error("exactly one of");
    motcua(&["calendar", "between", "--from", "2025-01-24T16:40:00+07:00", "--to", "soon"])
        .assert_user_error("invalid instant");
}

#[test]
fn check_explains_every_problem_in_edited_data() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_copy(tmp.path());
    let year = config.join("calendars/vn/2024.toml");
    let text = std::fs::read_to_string(&year).unwrap();
    // A make-up day that is a Wednesday and also a day off.
    let text =
        text.replace("year = 2024", "year = 2024\n\n[[makeup_workday]]\ndate = \"2024-02-14\"\nname = \"lỗi\"\n");
    std::fs::write(&year, text).unwrap();
    std::fs::remove_file(config.join("calendars/vn/2025.toml")).unwrap();
    let run = motcua_with(&config, None, &["calendar", "check"]);
    run.assert_user_error("invalid calendar data");
    assert!(run.stderr.contains("2024-02-14 is a Wed, not a weekend day"), "{}", run.stderr);
    assert!(run.stderr.contains("2024-02-14 is both a day off and a make-up working day"), "{}", run.stderr);
    assert!(run.stderr.contains("year 2025 missing between 2024 and 2026"), "{}", run.stderr);
}
