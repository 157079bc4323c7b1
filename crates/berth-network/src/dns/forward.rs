//! Queries the names files cannot answer, on their way to the host's resolvers: each gets a fresh unpredictable
//! ID (clients' own IDs may collide, and a guessable one invites spoofed answers), goes to the next resolver when
//! none answered within [`RETRY`], and is given up after [`EXPIRE`]; an answer is matched back to its client and
//! original ID. The table is capped at [`MAX_PENDING`] queries and the copies kept for re-sending at
//! [`RETAIN_BUDGET`] bytes, so a flood cannot grow memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::wire;

/// Most queries forwarded and not yet answered.
pub(super) const MAX_PENDING: usize = 1024;
/// How long a resolver gets before the query goes to the next one.
pub(super) const RETRY: Duration = Duration::from_secs(2);
/// How long a query waits for any answer in all.
pub(super) const EXPIRE: Duration = Duration::from_secs(5);
/// Most bytes of query copies kept for re-sending; a query over the budget is sent once.
pub(super) const RETAIN_BUDGET: usize = 32 * 1024;

struct Entry {
    client: SocketAddr,
    client_id: u16,
    /// Index of the resolver the query went to last.
    upstream: usize,
    retry_at: Instant,
    expire_at: Instant,
    /// The query as forwarded (upstream ID), kept for re-sending and for the SERVFAIL when it expires.
    query: Option<Box<[u8]>>,
}

/// What became of a query whose time ran out, for the server to act on.
pub(super) enum Due<'a> {
    /// Send `query` again, to resolver number `upstream`.
    Resend { upstream: usize, query: &'a [u8] },
    /// No resolver answered: tell `client` so (`query` carries the client's own ID again).
    Expired { client: SocketAddr, query: &'a [u8] },
}

/// The forwarded queries awaiting an answer, by the ID they were forwarded under.
pub(super) struct Pending {
    entries: HashMap<u16, Entry>,
    retained: usize,
    /// A keyed hash of a counter: a pseudo-random function, so IDs cannot be predicted from earlier ones.
    id_key: RandomState,
    id_counter: u64,
}

impl Pending {
    pub(super) fn new() -> Pending {
        Pending {
            entries: HashMap::new(),
            retained: 0,
            id_key: RandomState::new(),
            id_counter: 0,
        }
    }

    /// Registers `query` (from `client`) for forwarding to resolver 0 and rewrites its ID in place to a fresh one;
    /// false (and `query` untouched) when the table is full.
    pub(super) fn start(&mut self, query: &mut [u8], client: SocketAddr, now: Instant) -> bool {
        let Some(client_id) = wire::id(query) else {
            return false;
        };
        let Some(id) = self.fresh_id() else {
            return false;
        };
        wire::set_id(query, id);
        let kept = (self.retained + query.len() <= RETAIN_BUDGET).then(|| Box::<[u8]>::from(&*query));
        self.retained += kept.as_ref().map_or(0, |q| q.len());
        let entry = Entry {
            client,
            client_id,
            upstream: 0,
            retry_at: now + RETRY,
            expire_at: now + EXPIRE,
            query: kept,
        };
        self.entries.insert(id, entry);
        true
    }

    /// An ID no pending query uses, or `None` when the table is full.
    fn fresh_id(&mut self) -> Option<u16> {
        if self.entries.len() >= MAX_PENDING {
            return None;
        }
        // At most 1024 of 65536 IDs are taken, so a free one turns up within a few draws.
        loop {
            self.id_counter += 1;
            let id = self.id_key.hash_one(self.id_counter) as u16;
            if !self.entries.contains_key(&id) {
                return Some(id);
            }
        }
    }

    /// Matches an answer to its query: restores the client's ID in `answer` and returns the client's address, or
    /// `None` for an answer nobody waits for (late, duplicate or forged).
    pub(super) fn finish(&mut self, answer: &mut [u8]) -> Option<SocketAddr> {
        let entry = self.entries.remove(&wire::id(answer)?)?;
        self.release(&entry);
        wire::set_id(answer, entry.client_id);
        Some(entry.client)
    }

    /// Acts on every query whose time has come: re-sends to the next of `upstreams` resolvers, or gives up.
    pub(super) fn on_timer(&mut self, now: Instant, upstreams: usize, mut act: impl FnMut(Due<'_>)) {
        let retained = &mut self.retained;
        self.entries.retain(|_, entry| {
            if now >= entry.expire_at {
                *retained -= entry.query.as_ref().map_or(0, |q| q.len());
                if let Some(query) = entry.query.as_mut() {
                    wire::set_id(query, entry.client_id);
                    act(Due::Expired {
                        client: entry.client,
                        query,
                    });
                }
                return false;
            }
            if now >= entry.retry_at {
                entry.retry_at = now + RETRY;
                if let Some(query) = entry.query.as_deref().filter(|_| upstreams > 0) {
                    entry.upstream = (entry.upstream + 1) % upstreams;
                    act(Due::Resend {
                        upstream: entry.upstream,
                        query,
                    });
                }
            }
            true
        });
        if self.entries.is_empty() {
            // Give back what a burst made the table grow to.
            self.entries.shrink_to_fit();
        }
    }

    /// The earliest moment [`Pending::on_timer`] has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| {
                if e.query.is_some() {
                    e.retry_at.min(e.expire_at)
                } else {
                    e.expire_at
                }
            })
            .min()
    }

    fn release(&mut self, entry: &Entry) {
        self.retained -= entry.query.as_ref().map_or(0, |q| q.len());
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::testing::encode_query;

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Runs the timers at `now` and returns what they asked for, as (resend upstream, expired client, query id).
    fn fire(pending: &mut Pending, now: Instant, upstreams: usize) -> Vec<(Option<usize>, Option<u16>, u16)> {
        let mut seen = Vec::new();
        pending.on_timer(now, upstreams, |due| match due {
            Due::Resend { upstream, query } => {
                seen.push((Some(upstream), None, wire::id(query).unwrap_or(0)))
            }
            Due::Expired { client, query } => {
                seen.push((None, Some(client.port()), wire::id(query).unwrap_or(0)))
            }
        });
        seen
    }

    #[test]
    fn rewrites_ids_and_maps_answers_back() {
        let mut pending = Pending::new();
        let now = Instant::now();
        let mut first = encode_query(77, "a.example", wire::TYPE_A);
        let mut second = encode_query(77, "b.example", wire::TYPE_A);
        assert!(pending.start(&mut first, client(1000), now));
        assert!(pending.start(&mut second, client(1001), now));
        let (id1, id2) = (wire::id(&first).expect("id"), wire::id(&second).expect("id"));
        assert_ne!(id1, id2, "two clients' equal IDs must not collide upstream");
        assert_eq!(
            &first[2..],
            &encode_query(77, "a.example", wire::TYPE_A)[2..],
            "only the ID changes"
        );

        let mut answer = second.clone();
        answer[2] |= 0x80;
        assert_eq!(pending.finish(&mut answer), Some(client(1001)));
        assert_eq!(wire::id(&answer), Some(77));
        assert_eq!(
            pending.finish(&mut second.clone()),
            None,
            "a second answer is not relayed"
        );
        assert_eq!(pending.finish(&mut first), Some(client(1000)));
        assert_eq!((pending.len(), pending.retained), (0, 0));
        assert_eq!(pending.next_deadline(), None);
        assert_eq!(pending.finish(&mut [1]), None);
    }

    #[test]
    fn retries_on_the_next_upstream_then_expires_with_the_client_id() {
        let mut pending = Pending::new();
        let start = Instant::now();
        let mut query = encode_query(0x0102, "slow.example", wire::TYPE_A);
        assert!(pending.start(&mut query, client(2000), start));
        assert_eq!(pending.next_deadline(), Some(start + RETRY));
        assert!(fire(&mut pending, start + RETRY - Duration::from_millis(1), 2).is_empty());

        let forwarded_id = wire::id(&query).expect("id");
        let at_retry = start + RETRY;
        assert_eq!(fire(&mut pending, at_retry, 2), [(Some(1), None, forwarded_id)]);
        assert_eq!(pending.next_deadline(), Some(at_retry + RETRY));
        assert_eq!(
            fire(&mut pending, at_retry + RETRY, 2),
            [(Some(0), None, forwarded_id)]
        );
        assert_eq!(pending.next_deadline(), Some(start + EXPIRE));
        assert_eq!(
            fire(&mut pending, start + EXPIRE, 2),
            [(None, Some(2000), 0x0102)]
        );
        assert_eq!(
            (pending.len(), pending.retained, pending.next_deadline()),
            (0, 0, None)
        );
    }

    #[test]
    fn caps_the_table_and_the_kept_copies() {
        let mut pending = Pending::new();
        let now = Instant::now();
        let query = encode_query(1, &"x".repeat(60), wire::TYPE_A);
        for port in 0..MAX_PENDING {
            assert!(pending.start(&mut query.clone(), client(port as u16), now));
        }
        assert!(pending.retained <= RETAIN_BUDGET);
        assert_eq!(pending.retained, RETAIN_BUDGET / query.len() * query.len());
        let mut refused = query.clone();
        assert!(!pending.start(&mut refused, client(9), now));
        assert_eq!(refused, query, "a refused query is left as it was");

        let resent = fire(&mut pending, now + RETRY, 1);
        assert_eq!(
            resent.len(),
            RETAIN_BUDGET / query.len(),
            "only kept copies can be re-sent"
        );
        let expired = fire(&mut pending, now + EXPIRE, 1);
        assert_eq!(
            expired.len(),
            RETAIN_BUDGET / query.len(),
            "only kept copies can carry a SERVFAIL"
        );
        assert!(expired.iter().all(|e| e.2 == 1));
        assert_eq!((pending.len(), pending.retained), (0, 0));
        assert!(
            pending.start(&mut query.clone(), client(1), now),
            "room again once expired"
        );
    }

    #[test]
    fn ids_do_not_follow_a_pattern() {
        let mut pending = Pending::new();
        let ids: Vec<u16> = (0..64).filter_map(|_| pending.fresh_id()).collect();
        let mut steps: Vec<u16> = ids.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        steps.sort_unstable();
        steps.dedup();
        assert!(steps.len() > 32, "ids step predictably: {ids:?}");
    }
}
