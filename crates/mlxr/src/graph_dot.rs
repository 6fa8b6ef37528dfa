//! `export_to_dot`: a lazy graph as Graphviz DOT text, in MLX's format — one `rank=source`
//! node per array without a primitive (constants, evaluated arrays), one rectangle per
//! primitive (labelled with its name, identified by its node id) with edges from its
//! inputs and to its outputs, and `rank=sink` for the requested outputs that nothing in
//! the graph consumes. Arrays are named as MLX names them: the given names, else `A`,
//! `B`, ..., `Z`, `AA`, ... in order of first use (a given name takes a letter's turn).

use crate::array::Array;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// An array's identity: its node and output index.
type Key = (u64, usize);

fn key(a: &Array) -> Key {
    (a.id(), a.output_index())
}

/// MLX's array names: given ones, else the next bijective base-26 letters.
struct Namer {
    names: HashMap<Key, String>,
}

impl Namer {
    fn name(&mut self, a: &Array) -> String {
        let n = self.names.len() + 1;
        self.names
            .entry(key(a))
            .or_insert_with(|| {
                let mut v = n;
                let mut letters = Vec::new();
                while v > 0 {
                    letters.push(b'A' + ((v - 1) % 26) as u8);
                    v = (v - 1) / 26;
                }
                letters.reverse();
                String::from_utf8(letters).expect("ASCII")
            })
            .clone()
    }
}

/// The graph of `outputs` (and of the `named` arrays, which are outputs too) in DOT
/// format, as MLX's `export_to_dot` writes it. The traversal is depth first from each
/// output in order, inputs before the node that uses them; every unevaluated input is
/// included, evaluated arrays are sources.
pub fn export_to_dot(outputs: &[Array], named: &[(String, Array)]) -> String {
    let mut namer = Namer {
        names: HashMap::new(),
    };
    for (n, a) in named {
        namer.names.insert(key(a), n.clone());
    }
    let roots: Vec<Array> = outputs
        .iter()
        .cloned()
        .chain(named.iter().map(|(_, a)| a.clone()))
        .collect();
    // Depth-first post-order over nodes (iterative, so deep graphs cannot overflow).
    let mut order: Vec<Array> = Vec::new();
    let mut seen: HashSet<u64> = HashSet::new();
    for r in &roots {
        if seen.contains(&r.id()) {
            continue;
        }
        let mut stack: Vec<(Array, bool)> = vec![(r.clone(), false)];
        while let Some((a, expanded)) = stack.pop() {
            if expanded {
                order.push(a);
                continue;
            }
            if !seen.insert(a.id()) {
                continue;
            }
            stack.push((a.clone(), true));
            let ins = if a.primitive().is_some() {
                a.inputs()
            } else {
                Vec::new()
            };
            for i in ins.into_iter().rev() {
                if !seen.contains(&i.id()) {
                    stack.push((i, false));
                }
            }
        }
    }
    let consumed: HashSet<Key> = order
        .iter()
        .filter(|a| a.primitive().is_some())
        .flat_map(|a| a.inputs().iter().map(key).collect::<Vec<_>>())
        .collect();
    let wanted: HashSet<Key> = roots.iter().map(key).collect();
    let mut s = String::from("digraph {\n");
    for a in &order {
        match a.primitive() {
            None => {
                let _ = writeln!(s, "{{ rank=source; \"{}\"; }}", namer.name(a));
            }
            Some(p) => {
                let id = a.id();
                let _ = writeln!(s, "{{ {id} [label =\"{}\", shape=rectangle]; }}", p.name());
                for i in a.inputs() {
                    let _ = writeln!(s, "\"{}\" -> {id}", namer.name(&i));
                }
                for o in a.siblings_and_self() {
                    let sink = wanted.contains(&key(&o)) && !consumed.contains(&key(&o));
                    let name = namer.name(&o);
                    let rank = if sink { "rank=sink; " } else { "" };
                    let _ = writeln!(s, "{{ {rank}\"{name}\"; }}");
                    let _ = writeln!(s, "{id} -> \"{name}\"");
                }
            }
        }
    }
    s.push('}');
    s
}
