//! Fuzz target: every version scheme. The first byte picks the scheme, the
//! rest is `A<TAB>B`: both are validated, compared both ways (the answers
//! must be opposite), and A is checked against a range ending at B.
#![no_main]

use advisord::model::Event;
use advisord::version::ALL_SCHEMES;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let scheme = ALL_SCHEMES[pick as usize % ALL_SCHEMES.len()];
    let text = String::from_utf8_lossy(rest);
    let (a, b) = text.split_once('\t').unwrap_or((&text, ""));
    let _ = scheme.validate(a);
    let _ = scheme.validate(b);
    if let (Ok(ab), Ok(ba)) = (scheme.compare(a, b), scheme.compare(b, a)) {
        assert_eq!(ab, ba.reverse(), "{scheme}: {a:?} vs {b:?}");
    }
    let events = [Event::Introduced("0".into()), Event::Fixed(b.to_string())];
    let _ = scheme.contains(a, &events);
});
