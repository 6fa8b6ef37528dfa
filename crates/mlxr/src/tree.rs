//! Pytrees: nested containers of arrays (lists and string-keyed dicts that keep insertion
//! order), as MLX's `tree_flatten`, `tree_unflatten`, `tree_map` and `tree_map_with_path`
//! use them for model parameters, gradients and optimizer state.

use crate::array::Array;
use crate::error::{Error, Result};

/// A nested container of arrays.
#[derive(Clone, Debug)]
pub enum Tree {
    /// A leaf.
    Array(Array),
    /// A list (flattened with the index as the key part).
    List(Vec<Tree>),
    /// A dict with insertion order kept.
    Dict(Vec<(String, Tree)>),
    /// An empty node (MLX's `None` leaves): no arrays.
    None,
}

impl From<Array> for Tree {
    fn from(a: Array) -> Self {
        Tree::Array(a)
    }
}

impl Tree {
    /// An empty dict.
    pub fn dict() -> Tree {
        Tree::Dict(Vec::new())
    }
    /// Look up a key of a dict.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Dict(v) => v.iter().find(|(k, _)| k == key).map(|(_, t)| t),
            Tree::List(v) => key.parse::<usize>().ok().and_then(|i| v.get(i)),
            _ => None,
        }
    }
    /// Look up a dotted path (`"layers.0.weight"`).
    pub fn get_path(&self, path: &str) -> Option<&Tree> {
        path.split('.').try_fold(self, |t, k| t.get(k))
    }
    /// Insert or replace a key of a dict (error if not a dict).
    pub fn insert(&mut self, key: impl Into<String>, value: Tree) -> Result<()> {
        let key = key.into();
        match self {
            Tree::Dict(v) => {
                if let Some(slot) = v.iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                } else {
                    v.push((key, value));
                }
                Ok(())
            }
            _ => Err(Error::InvalidArgument(format!(
                "Tree::insert: cannot insert key '{key}' into a non-dict node"
            ))),
        }
    }
    /// The leaf array, if this is one.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Tree::Array(a) => Some(a),
            _ => None,
        }
    }
    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        match self {
            Tree::Array(_) => 1,
            Tree::List(v) => v.iter().map(|t| t.num_leaves()).sum(),
            Tree::Dict(v) => v.iter().map(|(_, t)| t.num_leaves()).sum(),
            Tree::None => 0,
        }
    }
}

/// The leaves with their dotted paths, depth first in order (MLX's `tree_flatten`).
pub fn tree_flatten(t: &Tree) -> Vec<(String, Array)> {
    let mut out = Vec::new();
    fn walk(t: &Tree, prefix: &str, out: &mut Vec<(String, Array)>) {
        let join = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match t {
            Tree::Array(a) => out.push((prefix.to_string(), a.clone())),
            Tree::List(v) => v
                .iter()
                .enumerate()
                .for_each(|(i, c)| walk(c, &join(&i.to_string()), out)),
            Tree::Dict(v) => v.iter().for_each(|(k, c)| walk(c, &join(k), out)),
            Tree::None => {}
        }
    }
    walk(t, "", &mut out);
    out
}

/// Rebuild a tree from dotted paths (MLX's `tree_unflatten`): path parts that are all digits
/// make lists, others dicts.
pub fn tree_unflatten(items: &[(String, Array)]) -> Result<Tree> {
    if items.len() == 1 && items[0].0.is_empty() {
        return Ok(Tree::Array(items[0].1.clone()));
    }
    let mut root = Tree::None;
    for (path, a) in items {
        let parts: Vec<&str> = path.split('.').collect();
        insert_path(&mut root, &parts, a.clone(), path)?;
    }
    Ok(root)
}

fn insert_path(node: &mut Tree, parts: &[&str], a: Array, full: &str) -> Result<()> {
    let (head, rest) = (parts[0], &parts[1..]);
    let is_index = !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit());
    if matches!(node, Tree::None) {
        *node = if is_index {
            Tree::List(vec![])
        } else {
            Tree::dict()
        };
    }
    let child: &mut Tree = match node {
        Tree::List(v) if is_index => {
            let i: usize = head.parse().expect("digits");
            while v.len() <= i {
                v.push(Tree::None);
            }
            &mut v[i]
        }
        Tree::Dict(v) if !is_index => {
            if let Some(pos) = v.iter().position(|(k, _)| k == head) {
                &mut v[pos].1
            } else {
                v.push((head.to_string(), Tree::None));
                &mut v.last_mut().expect("pushed").1
            }
        }
        _ => {
            return Err(Error::InvalidArgument(format!(
                "tree_unflatten: path '{full}' mixes list indices and dict keys at '{head}'"
            )))
        }
    };
    if rest.is_empty() {
        if !matches!(child, Tree::None) {
            return Err(Error::InvalidArgument(format!(
                "tree_unflatten: path '{full}' given twice or conflicts with another path"
            )));
        }
        *child = Tree::Array(a);
        Ok(())
    } else {
        insert_path(child, rest, a, full)
    }
}

/// Apply `f` to every leaf (MLX's `tree_map`).
pub fn tree_map(t: &Tree, f: &mut impl FnMut(&Array) -> Result<Array>) -> Result<Tree> {
    tree_map_with_path(t, &mut |_, a| f(a))
}

/// Apply `f(path, leaf)` to every leaf (MLX's `tree_map_with_path`).
pub fn tree_map_with_path(
    t: &Tree,
    f: &mut impl FnMut(&str, &Array) -> Result<Array>,
) -> Result<Tree> {
    fn walk(
        t: &Tree,
        prefix: &str,
        f: &mut impl FnMut(&str, &Array) -> Result<Array>,
    ) -> Result<Tree> {
        let join = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        Ok(match t {
            Tree::Array(a) => Tree::Array(f(prefix, a)?),
            Tree::List(v) => Tree::List(
                v.iter()
                    .enumerate()
                    .map(|(i, c)| walk(c, &join(&i.to_string()), f))
                    .collect::<Result<_>>()?,
            ),
            Tree::Dict(v) => Tree::Dict(
                v.iter()
                    .map(|(k, c)| Ok((k.clone(), walk(c, &join(k), f)?)))
                    .collect::<Result<_>>()?,
            ),
            Tree::None => Tree::None,
        })
    }
    walk(t, "", f)
}

/// Apply `f` to matching leaves of two trees with the same structure.
pub fn tree_map2(
    a: &Tree,
    b: &Tree,
    f: &mut impl FnMut(&Array, &Array) -> Result<Array>,
) -> Result<Tree> {
    Ok(match (a, b) {
        (Tree::Array(x), Tree::Array(y)) => Tree::Array(f(x, y)?),
        (Tree::List(x), Tree::List(y)) if x.len() == y.len() => Tree::List(
            x.iter()
                .zip(y)
                .map(|(p, q)| tree_map2(p, q, f))
                .collect::<Result<_>>()?,
        ),
        (Tree::Dict(x), Tree::Dict(y)) if x.len() == y.len() => Tree::Dict(
            x.iter()
                .map(|(k, p)| {
                    let q = b.get(k).ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "tree_map: key '{k}' missing in the second tree"
                        ))
                    })?;
                    Ok((k.clone(), tree_map2(p, q, f)?))
                })
                .collect::<Result<_>>()?,
        ),
        (Tree::None, Tree::None) => Tree::None,
        _ => {
            return Err(Error::InvalidArgument(
                "tree_map: the trees do not have the same structure".into(),
            ))
        }
    })
}
