//! Plausible applicants: Vietnamese names with diacritics, e-mail addresses at `example.vn`,
//! mobile numbers, 12-digit citizen identity numbers and street addresses. Frequencies are
//! rough national figures (Nguyễn ≈ 38 % of the population), not a census.

use motcua_core::{Applicant, Channel, Email, Phone};
use rand::Rng;
use rand::rngs::StdRng;

use crate::pick::{pick_weighted, uniform};

/// Family names with their approximate share of the population (per cent).
const FAMILY: &[(&str, f64)] = &[
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Huỳnh", 3.0),
    ("Hoàng", 2.5),
    ("Phan", 4.5),
    ("Võ", 3.0),
    ("Vũ", 1.0),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Trương", 0.8),
    ("Đinh", 0.6),
    ("Lương", 0.4),
    ("Mai", 0.4),
    ("Đoàn", 0.5),
    ("Trịnh", 0.4),
    ("Cao", 0.3),
    ("Lâm", 0.3),
    ("Tô", 0.2),
    ("Thái", 0.2),
    ("Châu", 0.2),
    ("Hà", 0.3),
];

const MALE_MIDDLE: &[(&str, f64)] = &[
    ("Văn", 30.0),
    ("Hữu", 8.0),
    ("Đức", 8.0),
    ("Minh", 10.0),
    ("Quang", 7.0),
    ("Công", 5.0),
    ("Thành", 5.0),
    ("Ngọc", 4.0),
    ("Xuân", 4.0),
    ("Đình", 5.0),
    ("Quốc", 5.0),
    ("Anh", 3.0),
    ("Gia", 3.0),
];

const FEMALE_MIDDLE: &[(&str, f64)] = &[
    ("Thị", 45.0),
    ("Ngọc", 8.0),
    ("Thu", 6.0),
    ("Thanh", 6.0),
    ("Kim", 4.0),
    ("Mỹ", 4.0),
    ("Hoài", 3.0),
    ("Thùy", 4.0),
    ("Bảo", 3.0),
    ("Phương", 4.0),
    ("Minh", 3.0),
];

const MALE_GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh", "Khoa", "Lâm", "Long", "Minh",
    "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tuấn", "Việt",
    "Vinh", "Bảo", "Đông", "Hưng", "Lộc", "Nhân", "Quý", "Thịnh", "Tùng",
];

const FEMALE_GIVEN: &[&str] = &[
    "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng", "Hương", "Lan", "Linh", "Loan",
    "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Trang", "Trâm", "Uyên", "Vân",
    "Yến", "Thủy", "Diệp", "Huyền", "Ly", "Ngọc", "Nhi", "Tuyết", "Xuân",
];

/// Mobile prefixes of the main Vietnamese networks.
const PHONE_PREFIXES: &[&str] = &[
    "090", "093", "089", "070", "076", "077", "078", "079", "091", "094", "088", "081", "082", "083", "084", "085",
    "096", "097", "098", "086", "032", "033", "034", "035", "036", "037", "038", "039", "092", "056", "058",
];

/// Province codes that open a citizen identity number, with weights for a Đà Nẵng desk:
/// mostly local (048 Đà Nẵng, 049 former Quảng Nam), some from elsewhere.
const PROVINCE_CODES: &[(&str, f64)] = &[
    ("048", 62.0),
    ("049", 18.0),
    ("046", 4.0),
    ("051", 4.0),
    ("001", 2.0),
    ("079", 3.0),
    ("040", 2.0),
    ("038", 2.0),
    ("052", 1.5),
    ("045", 1.5),
];

const STREETS: &[&str] = &[
    "Trần Phú",
    "Lê Duẩn",
    "Hùng Vương",
    "Nguyễn Văn Linh",
    "Điện Biên Phủ",
    "Ông Ích Khiêm",
    "Hoàng Diệu",
    "Nguyễn Tri Phương",
    "Núi Thành",
    "Phan Châu Trinh",
    "Bạch Đằng",
    "Ngô Quyền",
    "Võ Nguyên Giáp",
    "Tôn Đức Thắng",
    "Nguyễn Lương Bằng",
    "Lê Văn Hiến",
    "Trường Chinh",
    "Hàm Nghi",
    "2 Tháng 9",
    "Nguyễn Hữu Thọ",
    "Lê Thanh Nghị",
    "Hà Huy Tập",
    "Âu Cơ",
    "Nguyễn Sinh Sắc",
];

/// Makes an applicant. `places` are place names ("phường Hải Châu") of which one is the
/// applicant's, `city` the city's name ("thành phố Đà Nẵng"), `home` the receiving ward if
/// the dossier is filed at a ward (most applicants live near the desk they use).
pub(crate) fn applicant(
    rng: &mut StdRng,
    channel: Channel,
    places: &[String],
    home: Option<&str>,
    city: &str,
) -> Applicant {
    let female = rng.gen_bool(0.52);
    let family = pick_weighted(rng, FAMILY);
    let middle = if female { pick_weighted(rng, FEMALE_MIDDLE) } else { pick_weighted(rng, MALE_MIDDLE) };
    let given = if female { uniform(rng, FEMALE_GIVEN) } else { uniform(rng, MALE_GIVEN) };
    let name = format!("{family} {middle} {given}");
    let born = rng.gen_range(1945..=2006);

    let email_share = match channel {
        Channel::Online => 0.85,
        Channel::Postal => 0.3,
        Channel::InPerson => 0.2,
    };
    let email = if rng.gen_bool(email_share) {
        let local = format!("{}{}{}{:02}", ascii_fold(given), initial(family), initial(middle), born % 100);
        format!("{local}@example.vn").parse::<Email>().ok()
    } else {
        None
    };
    let phone_share = if channel == Channel::Online { 0.98 } else { 0.9 };
    let phone = if rng.gen_bool(phone_share) {
        let prefix = uniform(rng, PHONE_PREFIXES);
        format!("{prefix}{:07}", rng.gen_range(0..10_000_000u32)).parse::<Phone>().ok()
    } else {
        None
    };
    let province = pick_weighted(rng, PROVINCE_CODES);
    let century_sex = match (born >= 2000, female) {
        (false, false) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (true, true) => 3,
    };
    let id_number = format!("{province}{century_sex}{:02}{:06}", born % 100, rng.gen_range(0..1_000_000u32));
    let place = match home {
        Some(h) if rng.gen_bool(0.8) => Some(h.to_string()),
        _ if !places.is_empty() => Some(uniform(rng, places).clone()),
        _ => None,
    };
    let street = uniform(rng, STREETS);
    let number = rng.gen_range(1..=480);
    let address = match place {
        Some(p) => format!("{number} {street}, {p}, {city}"),
        None => format!("{number} {street}, {city}"),
    };
    Applicant { name, email, phone, id_number: Some(id_number), address: Some(address) }
}

fn initial(word: &str) -> String {
    word.chars().next().map(|c| ascii_fold(&c.to_string())).unwrap_or_default()
}

/// Lower-case ASCII of a Vietnamese word: "Đặng" → "dang", "Thủy" → "thuy".
pub(crate) fn ascii_fold(s: &str) -> String {
    const GROUPS: &[(char, &str)] = &[
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('d', "đ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('i', "ìíỉĩị"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('u', "ùúủũụưừứửữự"),
        ('y', "ỳýỷỹỵ"),
    ];
    s.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                return Some(c);
            }
            GROUPS.iter().find(|(_, g)| g.contains(c)).map(|(base, _)| *base)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn folds_vietnamese_letters() {
        assert_eq!(ascii_fold("Đặng Thị Thủy"), "dangthithuy");
        assert_eq!(ascii_fold("Nguyễn Hữu Phúc"), "nguyenhuuphuc");
    }

    #[test]
    fn applicants_are_well_formed() {
        let mut rng = StdRng::seed_from_u64(7);
        let places = vec!["phường Hải Châu".to_string(), "xã Bà Nà".to_string()];
        for _ in 0..500 {
            let a = applicant(&mut rng, Channel::Online, &places, Some("phường Hải Châu"), "thành phố Đà Nẵng");
            assert_eq!(a.name.split(' ').count(), 3, "{}", a.name);
            let id = a.id_number.unwrap();
            assert_eq!(id.len(), 12);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            if let Some(e) = a.email {
                assert!(e.as_str().ends_with("@example.vn") && e.as_str().is_ascii(), "{e}");
            }
            assert!(a.address.unwrap().ends_with("thành phố Đà Nẵng"));
        }
    }
}
