//! String interning for the aggregator: names to dense `u32` ids, call
//! legs (call id and queue) to leg indices without one allocation per leg,
//! and the fast hasher for keys the server made.
//!
//! Names and call ids come from clients, so the tables keyed by them hash
//! with a randomly seeded (keyed) hasher: nobody can precompute names that
//! collide and turn every lookup into a scan.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Dense ids for a small set of names (sites, departments, applications,
/// queues), in order of first appearance (which `/metrics` relies on to
/// keep label choices the same on every replica and after a restart).
/// Keyed by client text: foldhash with a random seed per table. A
/// checkpoint holds the names alone; the table is built again on restore.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<Box<str>>")]
pub(super) struct Interner {
    names: Vec<Box<str>>,
    #[serde(skip)]
    ids: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl From<Vec<Box<str>>> for Interner {
    /// The interner that handed out `names`' ids in that order.
    fn from(names: Vec<Box<str>>) -> Self {
        let mut interner = Interner::default();
        for name in names {
            interner.intern(&name);
        }
        interner
    }
}

impl Interner {
    /// The id of `name`, assigning the next one on first sight.
    pub(super) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let Ok(id) = u32::try_from(self.names.len()) else {
            // Four billion distinct names cannot fit in memory anyway; fold
            // the impossible overflow into the last id rather than panic.
            return u32::MAX;
        };
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The id of `name` if it was ever interned.
    pub(super) fn get(&self, name: &str) -> Option<usize> {
        self.ids.get(name).map(|&id| id as usize)
    }

    /// The name of `id` (empty for an id never handed out).
    pub(super) fn name(&self, id: usize) -> &str {
        self.names.get(id).map_or("", |name| name)
    }

    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let names: usize = self.names.iter().map(|name| name.len()).sum();
        self.names.capacity() * size_of::<Box<str>>()
            + table_bytes(self.ids.capacity(), size_of::<(Box<str>, u32)>())
            + 2 * names
    }
}

/// Call leg (call id, queue id) → leg index. There are hundreds of
/// thousands of legs, so the call ids live back to back in one string (a
/// transferred call's id once per leg) and the table maps 32 bits of a
/// keyed hash of the leg to its index: about `id length + 24` bytes per leg
/// and no allocation per leg. The leg's queue is not stored here: the
/// caller keeps it with the leg and answers `queue_of`. Ids come from
/// outside, so the hash is std's keyed SipHash: nobody can aim for
/// collisions, and the few natural ones (dozens in a million legs) go to a
/// side table. A checkpoint holds the ids alone: the keys are secret and
/// new in every process, so the tables are built again on restore
/// ([`CallIds::rebuild`]).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct CallIds {
    text: String,
    /// End of leg `i`'s call id in `text`; it starts where leg `i - 1`'s
    /// ends.
    ends: Vec<u32>,
    #[serde(skip)]
    by_hash: HashMap<u32, u32, FastState>,
    /// Legs that share their 32 hash bits with an earlier leg.
    #[serde(skip)]
    collisions: HashMap<(Box<str>, u32), u32>,
    #[serde(skip)]
    keys: RandomState,
}

impl CallIds {
    /// The index of the leg (`id`, `queue`), assigning the next one (= the
    /// number of legs so far) on first sight; `None` once 4 GiB of ids or
    /// `u32` indices run out. `queue_of(index)` is the queue of a leg
    /// already handed out.
    pub(super) fn find_or_insert(
        &mut self,
        id: &str,
        queue: u32,
        queue_of: impl Fn(u32) -> Option<u32>,
    ) -> Option<u32> {
        let hash = self.hash(id, queue);
        let shares_hash = match self.by_hash.get(&hash) {
            Some(&index) if queue_of(index) == Some(queue) && self.id(index) == id => {
                return Some(index);
            }
            Some(_) => {
                // Rare (a natural 32-bit collision): one allocation is fine.
                if let Some(&index) = self.collisions.get(&(Box::from(id), queue)) {
                    return Some(index);
                }
                true
            }
            None => false,
        };
        // A new leg. Past 2^32 legs or 4 GiB of ids the offsets no longer
        // fit: the leg is dropped rather than mislabelled.
        let index = u32::try_from(self.ends.len()).ok()?;
        let end = u32::try_from(self.text.len() + id.len()).ok()?;
        if shares_hash {
            self.collisions.insert((id.into(), queue), index);
        } else {
            self.by_hash.insert(hash, index);
        }
        self.text.push_str(id);
        self.ends.push(end);
        Some(index)
    }

    /// Builds the tables again under this process's keys, from the ids
    /// and each leg's queue (`queue_of`), as `find_or_insert` filed them.
    pub(super) fn rebuild(&mut self, queue_of: impl Fn(u32) -> Option<u32>) {
        self.by_hash.clear();
        self.collisions.clear();
        self.by_hash.reserve(self.ends.len());
        for index in 0..self.ends.len() {
            let Ok(index) = u32::try_from(index) else {
                break;
            };
            let Some(queue) = queue_of(index) else {
                continue;
            };
            let hash = self.hash(self.id(index), queue);
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_hash.entry(hash) {
                slot.insert(index);
            } else {
                let id = Box::from(self.id(index));
                self.collisions.insert((id, queue), index);
            }
        }
    }

    /// The table's 32 bits of a leg: any 32 bits of the keyed SipHash of
    /// the call id (as good as any other), mixed with the queue id by an
    /// odd multiplier, a bijection: two legs of one call never share them.
    fn hash(&self, id: &str, queue: u32) -> u32 {
        (self.keys.hash_one(id) as u32) ^ queue.wrapping_mul(0x9E37_79B9)
    }

    /// The call id of leg `index` (empty for an index never handed out).
    pub(super) fn id(&self, index: u32) -> &str {
        let index = index as usize;
        let start = match index {
            0 => 0,
            _ => self.ends.get(index - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.ends.get(index).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or("")
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.ends.capacity() * size_of::<u32>()
            + table_bytes(self.by_hash.capacity(), size_of::<(u32, u32)>())
            + table_bytes(
                self.collisions.capacity(),
                size_of::<((Box<str>, u32), u32)>(),
            )
    }
}

/// Heap bytes of a std hash table with room for `capacity` entries: a
/// power of two of slots at most 7/8 full, plus a control byte each.
pub(super) fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let slots = (capacity * 8 / 7).next_power_of_two();
    slots * (entry + 1)
}

/// The hasher for keys the server made (ticket ids, interned ids) and for
/// keyed hashes (call ids): foldhash's fixed-seed variant, since a keyed
/// SipHash over such keys would only cost time.
pub(super) type FastState = foldhash::fast::FixedState;

#[cfg(test)]
mod tests {
    use super::*;

    /// Legs as the aggregator keeps them: the queue of leg `i` is `queues[i]`.
    struct Legs {
        ids: CallIds,
        queues: Vec<u32>,
    }

    impl Legs {
        fn new() -> Self {
            Legs {
                ids: CallIds::default(),
                queues: Vec::new(),
            }
        }

        fn leg(&mut self, id: &str, queue: u32) -> Option<u32> {
            let queues = &self.queues;
            let index = self
                .ids
                .find_or_insert(id, queue, |leg| queues.get(leg as usize).copied())?;
            if index as usize == self.queues.len() {
                self.queues.push(queue);
            }
            Some(index)
        }
    }

    #[test]
    fn call_legs_are_dense_and_stable() {
        let mut legs = Legs::new();
        assert_eq!(legs.leg("a", 0), Some(0));
        assert_eq!(legs.leg("", 0), Some(1));
        assert_eq!(legs.leg("bb", 0), Some(2));
        assert_eq!(legs.leg("a", 0), Some(0));
        assert_eq!(legs.leg("", 0), Some(1));
        // The same call in another queue is another leg.
        assert_eq!(legs.leg("a", 3), Some(3));
        assert_eq!(legs.leg("a", 3), Some(3));
        assert_eq!(legs.leg("a", 0), Some(0));
        let ids = &legs.ids;
        assert_eq!(
            (ids.id(0), ids.id(1), ids.id(2), ids.id(3)),
            ("a", "", "bb", "a")
        );
    }

    #[test]
    fn call_legs_sharing_a_hash_stay_apart() {
        let mut legs = Legs::new();
        assert_eq!(legs.leg("first", 0), Some(0));
        // Force collisions: file ("second", 0) and ("first", 1) under the
        // hash of ("first", 0).
        let first = legs.ids.hash("first", 0);
        for (id, queue) in [("second", 0u32), ("first", 1)] {
            let hash = legs.ids.hash(id, queue);
            legs.ids.by_hash.remove(&first);
            legs.ids.by_hash.insert(hash, 0);
            let index = legs.leg(id, queue).expect("new leg");
            assert_eq!(legs.leg(id, queue), Some(index));
            assert_eq!(legs.ids.id(index), id);
        }
        assert_eq!(legs.queues, [0, 0, 1]);
    }

    #[test]
    fn interner_hands_out_ids_in_order() {
        let mut names = Interner::default();
        assert_eq!(names.intern("Orders"), 0);
        assert_eq!(names.intern("MAR"), 1);
        assert_eq!(names.intern("Orders"), 0);
        assert_eq!((names.get("MAR"), names.get("none")), (Some(1), None));
        assert_eq!((names.name(1), names.len()), ("MAR", 2));
    }
}
