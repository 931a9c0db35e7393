//! The desk's letters to print on both backends: a page at a time with the count, the marks
//! printed then handed over with who and when, made once, refused out of order or at another
//! desk (writing nothing), and the filters "not yet printed" / "not yet handed over".

use chrono::Duration;
use motcua_core::{DossierCode, Event, EventKind};
use motcua_store::{DeskLetter, DeskLetterStore, LetterFilter, LetterMark, MarkRecord, Marked, Paged, Window};

use super::support::*;

fn codes(p: &Paged<DeskLetter>) -> Vec<DossierCode> {
    p.rows.iter().filter_map(|l| l.message.dossier_code.clone()).collect()
}

const ALL: Window = Window { offset: 0, limit: 50 };

pub async fn letters_to_print_are_paged_and_marked_printed_then_handed<S: Backend + DeskLetterStore>(s: S) {
    let d = domain();
    let t0 = at(2025, 3, 3, 9, 0);
    // Three letters at the centre's desk (citizens with no e-mail), one at the ward's.
    let mut centre = Vec::new();
    for (i, name) in ["Một", "Hai", "Ba", "Phường"].iter().enumerate() {
        let (agency, procedure) = if *name == "Phường" { (WARD, WARD_PROC) } else { (CENTRE, CITY_PROC) };
        let mut new = new_dossier(agency, procedure, name);
        new.applicant.email = None;
        let first = s.intake(&d, new, t0 + Duration::minutes(i as i64), None).await.unwrap();
        let c = first.code.clone().unwrap();
        let kind = EventKind::Rescheduled {
            to: first.due_at.unwrap() + Duration::days(7),
            reason: "chờ xác minh".into(),
            responsible: None,
            automatic: false,
            override_second: false,
            reason_code: None,
        };
        s.record(&d, &c, Event::new(t0 + Duration::hours(1), Some("head".into()), kind)).await.unwrap();
        if agency == CENTRE {
            centre.push(c);
        }
    }
    let page = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::All, ALL).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(codes(&page), centre.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    assert!(page.rows.iter().all(|l| l.printed.is_none() && l.handed.is_none()));
    // Paged: two a page, the count the same on every page.
    let p1 = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::All, Window::page(1, 2)).await.unwrap();
    let p2 = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::All, Window::page(2, 2)).await.unwrap();
    assert_eq!((p1.total, p1.rows.len(), p2.total, p2.rows.len()), (3, 2, 3, 1));
    assert_eq!([codes(&p1), codes(&p2)].concat(), codes(&page));
    let both = s.desk_letter_page(&[ag(CENTRE), ag(WARD)], LetterFilter::All, ALL).await.unwrap();
    assert_eq!(both.total, 4);
    assert_eq!(s.desk_letter_page(&[], LetterFilter::All, ALL).await.unwrap().total, 0);
    assert_eq!(s.desk_letter_page(&[ag(DEPT)], LetterFilter::All, ALL).await.unwrap().total, 0);

    let id =
        |c: &DossierCode| page.rows.iter().find(|l| l.message.dossier_code.as_ref() == Some(c)).unwrap().message.id;
    let (first, second) = (id(&centre[0]), id(&centre[1]));
    let ward_id = both.rows.iter().find(|l| l.message.recipient == format!("desk:{WARD}")).unwrap().message.id;
    let t1 = at(2025, 3, 4, 8, 15) + chrono::Duration::microseconds(123_456);
    let centre_desk = [ag(CENTRE)];

    // Handed over before printed: refused, nothing written.
    assert_eq!(s.mark_letter(first, &centre_desk, LetterMark::Handed, "lan", t1).await.unwrap(), Marked::NotPrinted);
    // Another desk's letter, or no letter: not found, nothing written.
    assert_eq!(s.mark_letter(ward_id, &centre_desk, LetterMark::Printed, "lan", t1).await.unwrap(), Marked::NotFound);
    assert_eq!(s.mark_letter(999_999, &centre_desk, LetterMark::Printed, "lan", t1).await.unwrap(), Marked::NotFound);
    assert_eq!(s.desk_letter_page(&[ag(CENTRE), ag(WARD)], LetterFilter::NotPrinted, ALL).await.unwrap().total, 4);

    let printed = MarkRecord { by: "lan".into(), at: t1 };
    assert_eq!(
        s.mark_letter(first, &centre_desk, LetterMark::Printed, "lan", t1).await.unwrap(),
        Marked::Done(printed.clone())
    );
    // Once: a second mark keeps the first one's officer and instant.
    assert_eq!(
        s.mark_letter(first, &centre_desk, LetterMark::Printed, "binh", t1 + Duration::hours(1)).await.unwrap(),
        Marked::Already(printed.clone())
    );
    let t2 = t1 + Duration::hours(2);
    let handed = MarkRecord { by: "binh".into(), at: t2 };
    assert_eq!(
        s.mark_letter(first, &centre_desk, LetterMark::Handed, "binh", t2).await.unwrap(),
        Marked::Done(handed.clone())
    );
    assert_eq!(
        s.mark_letter(second, &centre_desk, LetterMark::Printed, "lan", t2).await.unwrap(),
        Marked::Done(MarkRecord { by: "lan".into(), at: t2 })
    );

    let page = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::All, ALL).await.unwrap();
    let row = page.rows.iter().find(|l| l.message.id == first).unwrap();
    assert_eq!((row.printed.as_ref(), row.handed.as_ref()), (Some(&printed), Some(&handed)), "who and when, as stored");
    let not_printed = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::NotPrinted, ALL).await.unwrap();
    assert_eq!((not_printed.total, codes(&not_printed)), (1, vec![centre[2].clone()]));
    let not_handed = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::NotHanded, ALL).await.unwrap();
    assert_eq!((not_handed.total, codes(&not_handed)), (2, vec![centre[2].clone(), centre[1].clone()]));
    let not_handed_p2 = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::NotHanded, Window::page(2, 1)).await.unwrap();
    assert_eq!((not_handed_p2.total, codes(&not_handed_p2)), (2, vec![centre[1].clone()]));

    // The marks are their own audit: never changed, never deleted.
    assert!(s.raw("UPDATE letter_marks SET marked_by = 'x'").await.is_err());
    assert!(s.raw("DELETE FROM letter_marks").await.is_err());
    let row = s.desk_letter_page(&[ag(CENTRE)], LetterFilter::All, ALL).await.unwrap();
    assert_eq!(row.rows.iter().filter(|l| l.printed.is_some()).count(), 2);
}
