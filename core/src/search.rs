//! Search as Vietnamese and foreign users type: "vinh trang", "Vĩnh Tràng", "VINH TRANG" and
//! "Chùa Vĩnh Tràng" typed in decomposed Unicode all find Chùa Vĩnh Tràng; "đ" matches "d";
//! the last word may be a prefix ("vinh tr"); one typo is tolerated in words of five letters
//! or more. Every index folds text with [`fold`], the one normalisation.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Text as search compares it: Unicode decomposed (NFD) and stripped of combining marks (the
/// Vietnamese tone and vowel marks: "Vĩnh Tràng" → "vinh trang"), "đ"/"Đ" as "d" (a letter of
/// its own in Vietnamese, not a mark), lower case, anything that is not a letter or a digit a
/// space, spaces collapsed. The same for NFC and NFD input.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            _ => c,
        };
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The words of folded text.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How well one query word matches one word of an entry, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WordMatch {
    /// One letter added, missing, changed or two swapped (words of five letters or more).
    Typo = 1,
    /// The entry's word starts with the query word (only the query's last word).
    Prefix = 2,
    Exact = 3,
}

/// The shortest query word a typo is tolerated in: 5 letters.
pub const TYPO_MIN_LEN: usize = 5;

/// How `query` (a folded word) matches `word` (a folded word); `last` says it is the query's
/// last word, which may be unfinished.
pub fn word_match(query: &str, word: &str, last: bool) -> Option<WordMatch> {
    if query == word {
        return Some(WordMatch::Exact);
    }
    if last && word.starts_with(query) {
        return Some(WordMatch::Prefix);
    }
    // Folded text is mostly ASCII: compared as bytes then, as characters otherwise.
    if query.is_ascii() && word.is_ascii() {
        typo(query.as_bytes(), word.as_bytes(), last)
    } else {
        let q: Vec<char> = query.chars().collect();
        let w: Vec<char> = word.chars().collect();
        typo(&q, &w, last)
    }
    .then_some(WordMatch::Typo)
}

/// Whether `q` is one edit from `w`, or (`last`, unfinished) from the start of `w`.
fn typo<T: PartialEq>(q: &[T], w: &[T], last: bool) -> bool {
    if q.len() < TYPO_MIN_LEN {
        return false;
    }
    one_edit(q, w)
        // An unfinished last word with a typo in what is typed so far.
        || (last && w.len() > q.len() && one_edit(q, &w[..q.len()]))
}

/// Whether `a` and `b` are at most one edit apart (insertion, deletion, substitution, or a
/// swap of two neighbours: the Damerau–Levenshtein distance is ≤ 1).
fn one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let mut diff = (0..short.len()).filter(|&i| short[i] != long[i]);
            match (diff.next(), diff.next(), diff.next()) {
                (None, _, _) | (Some(_), None, _) => true,
                (Some(i), Some(j), None) => {
                    j == i + 1 && short[i] == long[j] && short[j] == long[i]
                }
                _ => false,
            }
        }
        1 => {
            let first = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

/// One searchable thing: what it is (`kind`, `id`, free for the caller), the text it is
/// found by (a name in each language, an address …), and where it is, if it has a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<K> {
    pub key: K,
    pub words: Vec<String>,
    pub position: Option<crate::Position>,
}

impl<K> Entry<K> {
    /// An entry found by every text of `texts`.
    pub fn new<'a>(
        key: K,
        texts: impl IntoIterator<Item = &'a str>,
        position: Option<crate::Position>,
    ) -> Entry<K> {
        let mut words: Vec<String> = texts.into_iter().flat_map(words).collect();
        words.sort();
        words.dedup();
        Entry {
            key,
            words,
            position,
        }
    }
}

/// A hit: the entry, how well it matched (higher is better) and its distance from the
/// searcher in metres, when both have a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a, K> {
    pub entry: &'a Entry<K>,
    pub score: u32,
    pub distance_m: Option<f64>,
}

/// The entries every word of `query` matches, best match first, then nearest to `from`, then
/// in the index's order; at most `limit`. An empty query finds nothing.
pub fn search<'a, K>(
    entries: &'a [Entry<K>],
    query: &str,
    from: Option<crate::Position>,
    limit: usize,
) -> Vec<Hit<'a, K>> {
    let query = words(query);
    if query.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(usize, Hit<'a, K>)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let mut score = 0;
            for (n, q) in query.iter().enumerate() {
                let last = n + 1 == query.len();
                let best = entry
                    .words
                    .iter()
                    .filter_map(|w| word_match(q, w, last))
                    .max()?;
                score += best as u32;
            }
            let distance_m = from
                .zip(entry.position)
                .map(|(a, b)| crate::geodesy::distance_m(a, b));
            Some((
                i,
                Hit {
                    entry,
                    score,
                    distance_m,
                },
            ))
        })
        .collect();
    hits.sort_by(|(i, a), (j, b)| rank((*i, a), (*j, b)));
    hits.into_iter().take(limit).map(|(_, hit)| hit).collect()
}

/// The order of hits: better match first, then nearer, then earlier in the entries.
fn rank<K>((i, a): (usize, &Hit<'_, K>), (j, b): (usize, &Hit<'_, K>)) -> std::cmp::Ordering {
    b.score
        .cmp(&a.score)
        .then_with(|| {
            a.distance_m
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.distance_m.unwrap_or(f64::INFINITY))
        })
        .then_with(|| i.cmp(&j))
}

/// The entries of [`search`] with an inverted index of their words, for many entries: each
/// distinct word is compared with the query once, not once per entry that has it. Answers
/// exactly as [`search`] does (same hits, same order).
pub struct SearchIndex<K> {
    entries: Vec<Entry<K>>,
    /// Every distinct word, sorted.
    dictionary: Vec<String>,
    /// For each word of `dictionary`, the entries that have it, in order.
    postings: Vec<Vec<u32>>,
}

impl<K> SearchIndex<K> {
    /// Indexes `entries` (O(total words · log)).
    pub fn new(entries: Vec<Entry<K>>) -> SearchIndex<K> {
        let mut pairs: Vec<(&str, u32)> = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.words.iter().map(move |w| (w.as_str(), i as u32)))
            .collect();
        pairs.sort_unstable();
        let mut dictionary: Vec<String> = Vec::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        for (word, entry) in pairs {
            if dictionary.last().is_none_or(|last| last != word) {
                dictionary.push(word.to_owned());
                postings.push(Vec::new());
            }
            if let Some(list) = postings.last_mut() {
                list.push(entry);
            }
        }
        SearchIndex {
            entries,
            dictionary,
            postings,
        }
    }

    pub fn entries(&self) -> &[Entry<K>] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each entry one query word matches, with its best match there.
    fn matches(&self, q: &str, last: bool) -> std::collections::HashMap<u32, WordMatch> {
        let mut best: std::collections::HashMap<u32, WordMatch> = std::collections::HashMap::new();
        let mut add = |word: usize, how: WordMatch| {
            for &entry in &self.postings[word] {
                let slot = best.entry(entry).or_insert(how);
                if how > *slot {
                    *slot = how;
                }
            }
        };
        // Typos need a look at every word; otherwise the sorted dictionary is enough.
        if q.chars().count() >= TYPO_MIN_LEN {
            for (i, word) in self.dictionary.iter().enumerate() {
                if let Some(how) = word_match(q, word, last) {
                    add(i, how);
                }
            }
        } else {
            let start = self.dictionary.partition_point(|w| w.as_str() < q);
            for (i, word) in self.dictionary.iter().enumerate().skip(start) {
                if word == q {
                    add(i, WordMatch::Exact);
                } else if last && word.starts_with(q) {
                    add(i, WordMatch::Prefix);
                } else {
                    break;
                }
            }
        }
        best
    }

    /// As [`search`] over the indexed entries.
    pub fn search(
        &self,
        query: &str,
        from: Option<crate::Position>,
        limit: usize,
    ) -> Vec<Hit<'_, K>> {
        let query = words(query);
        if query.is_empty() {
            return Vec::new();
        }
        let mut scores: Option<std::collections::HashMap<u32, u32>> = None;
        for (n, q) in query.iter().enumerate() {
            let found = self.matches(q, n + 1 == query.len());
            scores = Some(match scores {
                None => found.into_iter().map(|(e, how)| (e, how as u32)).collect(),
                Some(mut so_far) => {
                    so_far.retain(|e, score| match found.get(e) {
                        Some(how) => {
                            *score += *how as u32;
                            true
                        }
                        None => false,
                    });
                    so_far
                }
            });
            if scores
                .as_ref()
                .is_some_and(std::collections::HashMap::is_empty)
            {
                return Vec::new();
            }
        }
        let mut hits: Vec<(u32, Hit<'_, K>)> = scores
            .unwrap_or_default()
            .into_iter()
            .map(|(i, score)| {
                let entry = &self.entries[i as usize];
                let distance_m = from
                    .zip(entry.position)
                    .map(|(a, b)| crate::geodesy::distance_m(a, b));
                (
                    i,
                    Hit {
                        entry,
                        score,
                        distance_m,
                    },
                )
            })
            .collect();
        let order = |(i, a): &(u32, Hit<'_, K>), (j, b): &(u32, Hit<'_, K>)| {
            rank((*i as usize, a), (*j as usize, b))
        };
        // Only the best `limit` need sorting.
        if hits.len() > limit && limit > 0 {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter().take(limit).map(|(_, hit)| hit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_typing_a_vietnamese_name_folds_the_same() {
        let table = [
            ("Chùa Vĩnh Tràng", "chua vinh trang"),
            ("CHÙA VĨNH TRÀNG", "chua vinh trang"),
            ("  chùa   vĩnh-tràng! ", "chua vinh trang"),
            ("Đồng Tâm", "dong tam"),
            ("đường Ấp Bắc", "duong ap bac"),
            ("Cồn Thới Sơn", "con thoi son"),
            ("Chợ nổi Cái Bè", "cho noi cai be"),
            ("Phường 1, Mỹ Tho", "phuong 1 my tho"),
            ("Ngũ Hiệp", "ngu hiep"),
            ("", ""),
            ("—", ""),
        ];
        for (typed, folded) in table {
            assert_eq!(fold(typed), folded, "{typed:?}");
            let nfd: String = typed.nfd().collect();
            assert_eq!(fold(&nfd), folded, "{typed:?} in NFD");
            let nfc: String = typed.nfc().collect();
            assert_eq!(fold(&nfc), folded, "{typed:?} in NFC");
        }
    }

    #[test]
    fn words_match_exactly_by_prefix_or_with_one_typo() {
        assert_eq!(word_match("trang", "trang", false), Some(WordMatch::Exact));
        assert_eq!(word_match("tr", "trang", true), Some(WordMatch::Prefix));
        assert_eq!(
            word_match("tr", "trang", false),
            None,
            "only the last word is unfinished"
        );
        assert_eq!(
            word_match("trnag", "trang", false),
            Some(WordMatch::Typo),
            "a swap"
        );
        assert_eq!(
            word_match("thoison", "thoisson", false),
            Some(WordMatch::Typo)
        );
        assert_eq!(
            word_match("phuog", "phuong", false),
            Some(WordMatch::Typo),
            "a letter missing"
        );
        assert_eq!(
            word_match("phuonh", "phuong", false),
            Some(WordMatch::Typo),
            "a letter wrong"
        );
        assert_eq!(
            word_match("vinj", "vinh", false),
            None,
            "no typo in short words"
        );
        assert_eq!(word_match("phxxng", "phuong", false), None, "two edits");
        assert_eq!(
            word_match("tranx", "trangs", true),
            Some(WordMatch::Typo),
            "while typing"
        );
    }

    fn pos(lon: f64, lat: f64) -> crate::Position {
        crate::Position { lon, lat }
    }

    fn places() -> Vec<Entry<&'static str>> {
        vec![
            Entry::new(
                "vinh-trang",
                ["Chùa Vĩnh Tràng", "Vinh Trang Pagoda"],
                Some(pos(106.3716, 10.3640)),
            ),
            Entry::new("vinh-kim", ["Chợ Vĩnh Kim"], Some(pos(106.2700, 10.3000))),
            Entry::new(
                "trang-an",
                ["Khách sạn Tràng An"],
                Some(pos(106.3600, 10.3550)),
            ),
            Entry::new(
                "dong-tam",
                ["Trại rắn Đồng Tâm", "Dong Tam snake farm"],
                Some(pos(106.3300, 10.3200)),
            ),
            Entry::new("birth-certificate", ["Đăng ký khai sinh"], None),
        ]
    }

    #[test]
    fn a_place_is_found_however_it_is_typed() {
        let entries = places();
        let nfd: String = "Chùa Vĩnh Tràng".nfd().collect();
        for query in [
            "vinh trang",
            "Vĩnh Tràng",
            "VINH TRANG",
            "chua vinh trang",
            nfd.as_str(),
            "vinh tr",
            "pagoda",
            "vinh trnag",
        ] {
            let hits = search(&entries, query, None, 10);
            assert_eq!(
                hits.first().map(|h| h.entry.key),
                Some("vinh-trang"),
                "{query:?}"
            );
        }
        assert_eq!(
            search(&entries, "dong tam", None, 10)[0].entry.key,
            "dong-tam"
        );
        assert_eq!(
            search(&entries, "khai sinh", None, 10)[0].entry.key,
            "birth-certificate"
        );
        assert!(search(&entries, "", None, 10).is_empty());
        assert!(search(&entries, "xyz", None, 10).is_empty());
    }

    #[test]
    fn better_matches_come_first_then_nearer_ones() {
        let entries = places();
        // "vinh" is a whole word of two places: the nearer first.
        let near_vinh_kim = pos(106.2710, 10.3010);
        let hits = search(&entries, "vinh", Some(near_vinh_kim), 10);
        let keys: Vec<_> = hits.iter().map(|h| h.entry.key).collect();
        assert_eq!(keys, ["vinh-kim", "vinh-trang"]);
        assert!(hits[0].distance_m.is_some_and(|d| d < 200.0));
        // An exact word beats a prefix: "trang" is Vĩnh Tràng's and Tràng An's whole word.
        let hits = search(&entries, "tran", None, 10);
        assert_eq!(hits.len(), 2);
        let hits = search(&entries, "trang an", None, 10);
        assert_eq!(
            hits[0].entry.key, "trang-an",
            "both words match only Tràng An"
        );
        assert_eq!(hits.len(), 1);
    }

    proptest::proptest! {
        /// The index answers exactly as the plain scan, hits and order, for queries made of
        /// pieces of the entries' own words (so that prefixes, typos and misses all occur).
        #[test]
        fn the_index_answers_as_the_scan(
            names in proptest::collection::vec("[a-dđ ]{1,14}", 1..60),
            query in "[a-dđ ]{0,12}",
            lon in 105.0f64..107.0,
        ) {
            let entries: Vec<Entry<usize>> = names
                .iter()
                .enumerate()
                .map(|(i, n)| Entry::new(i, [n.as_str()], Some(crate::Position { lon: 105.0 + (i as f64) / 50.0, lat: 10.0 })))
                .collect();
            let from = Some(crate::Position { lon, lat: 10.0 });
            let scan: Vec<(usize, u32)> = search(&entries, &query, from, 10)
                .into_iter().map(|h| (h.entry.key, h.score)).collect();
            let index = SearchIndex::new(entries.clone());
            let indexed: Vec<(usize, u32)> = index.search(&query, from, 10)
                .into_iter().map(|h| (h.entry.key, h.score)).collect();
            proptest::prop_assert_eq!(scan, indexed);
        }
    }
}
