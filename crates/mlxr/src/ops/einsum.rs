//! `einsum` (Einstein summation) and `einsum_path` (its contraction order and cost).
//!
//! Subscripts are parsed into one label per axis (letters; `...` stands for broadcast
//! axes, right-aligned across operands). Each operand first takes the diagonal of
//! repeated labels and sums the labels no other operand or the output needs; then operands
//! are contracted two at a time in a greedy order (NumPy's "greedy" path): pairs sharing a
//! summed label become one batched `matmul`, pairs sharing none an elementwise `multiply`.
//! As in MLX, contractions go through `matmul` and need floating dtypes; an explicit
//! output without `...` sums the broadcast axes.

use super::sum;
use super::{broadcast_to, diagonal, matmul, multiply, reshape_to, transpose_axes};
use crate::array::Array;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// An axis label: a letter's code point, or `ELLIPSIS + i` for the i-th broadcast axis.
type Label = u32;
const ELLIPSIS: Label = 0x1_0000;

/// Parsed subscripts: one label per axis of each operand, the output labels, and the size
/// of every label (the broadcast size where size-1 axes meet larger ones).
struct Spec {
    inputs: Vec<Vec<Label>>,
    output: Vec<Label>,
    sizes: BTreeMap<Label, usize>,
}

fn label_name(l: Label) -> String {
    if l >= ELLIPSIS {
        "...".to_string()
    } else {
        char::from_u32(l).map_or_else(String::new, |c| c.to_string())
    }
}

/// One term: its letters and whether (and where) it has an ellipsis.
fn parse_term(term: &str, subscripts: &str) -> Result<(Vec<char>, Option<usize>)> {
    let mut letters = Vec::new();
    let mut ell = None;
    let chars: Vec<char> = term.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '.' {
            if chars.get(i + 1) != Some(&'.') || chars.get(i + 2) != Some(&'.') {
                return Err(Error::InvalidArgument(format!(
                    "einsum: a '.' must be part of an ellipsis '...' in subscripts {subscripts:?}"
                )));
            }
            if ell.is_some() {
                return Err(Error::InvalidArgument(format!(
                    "einsum: more than one ellipsis in the term {term:?} of subscripts {subscripts:?}"
                )));
            }
            ell = Some(letters.len());
            i += 3;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return Err(Error::InvalidArgument(format!(
                "einsum: subscripts must be letters, but got {c:?} in {subscripts:?}"
            )));
        }
        letters.push(c);
        i += 1;
    }
    Ok((letters, ell))
}

fn parse(subscripts: &str, shapes: &[&[usize]]) -> Result<Spec> {
    let s: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
    if shapes.is_empty() {
        return Err(Error::InvalidArgument(
            "einsum: at least one operand is required".into(),
        ));
    }
    let (lhs, rhs) = match s.find("->") {
        Some(p) => (&s[..p], Some(&s[p + 2..])),
        None => (&s[..], None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != shapes.len() {
        return Err(Error::InvalidArgument(format!(
            "einsum: the subscripts {subscripts:?} have {} input terms but {} operands were given",
            terms.len(),
            shapes.len()
        )));
    }
    let mut parsed = Vec::with_capacity(terms.len());
    let mut n_ell = 0usize;
    for (i, (term, shape)) in terms.iter().zip(shapes).enumerate() {
        let (letters, ell) = parse_term(term, subscripts)?;
        let ok = match ell {
            Some(_) => letters.len() <= shape.len(),
            None => letters.len() == shape.len(),
        };
        if !ok {
            return Err(Error::Shape(format!(
                "einsum: the term {term:?} has {} subscripts but operand {i} has shape {shape:?} in {subscripts:?}",
                letters.len()
            )));
        }
        let e = shape.len() - letters.len();
        if ell.is_some() {
            n_ell = n_ell.max(e);
        }
        parsed.push((letters, ell, e));
    }
    // Labels per axis and sizes.
    let mut inputs = Vec::with_capacity(parsed.len());
    let mut sizes: BTreeMap<Label, usize> = BTreeMap::new();
    for (i, ((letters, ell, e), shape)) in parsed.iter().zip(shapes).enumerate() {
        let mut labels: Vec<Label> = letters.iter().map(|&c| c as Label).collect();
        if let Some(pos) = *ell {
            let ells: Vec<Label> = (0..*e)
                .map(|t| ELLIPSIS + (n_ell - e + t) as Label)
                .collect();
            labels.splice(pos..pos, ells);
        }
        for (ax, (&l, &n)) in labels.iter().zip(shape.iter()).enumerate() {
            // repeated labels within an operand (a diagonal) need equal sizes
            if let Some(first) = labels[..ax].iter().position(|&x| x == l) {
                if shape[first] != n {
                    return Err(Error::Shape(format!(
                        "einsum: the repeated subscript {:?} of operand {i} has different sizes ({} != {n}) in shape {shape:?}",
                        label_name(l),
                        shape[first]
                    )));
                }
            }
            match sizes.get(&l).copied() {
                None => {
                    sizes.insert(l, n);
                }
                Some(m) if m == n || n == 1 => {}
                Some(1) => {
                    sizes.insert(l, n);
                }
                Some(m) => {
                    return Err(Error::Shape(format!(
                        "einsum: cannot broadcast axis {ax} of operand {i} with shape {shape:?} (subscript {:?}) to size {m} in {subscripts:?}",
                        label_name(l)
                    )));
                }
            }
        }
        inputs.push(labels);
    }
    let output: Vec<Label> = match rhs {
        Some(r) => {
            let (letters, ell) = parse_term(r, subscripts)?;
            let mut out: Vec<Label> = letters.iter().map(|&c| c as Label).collect();
            for (k, &c) in letters.iter().enumerate() {
                if letters[..k].contains(&c) {
                    return Err(Error::InvalidArgument(format!(
                        "einsum: repeated subscript {c:?} in the output of {subscripts:?}"
                    )));
                }
                if !sizes.contains_key(&(c as Label)) {
                    return Err(Error::InvalidArgument(format!(
                        "einsum: the output subscript {c:?} does not appear in the inputs of {subscripts:?}"
                    )));
                }
            }
            if let Some(pos) = ell {
                let ells: Vec<Label> = (0..n_ell).map(|t| ELLIPSIS + t as Label).collect();
                out.splice(pos..pos, ells);
            }
            out
        }
        None => {
            // Implicit output: the broadcast axes, then the letters used exactly once, in
            // alphabetical (ASCII) order.
            let mut counts: BTreeMap<Label, usize> = BTreeMap::new();
            for labels in &inputs {
                for &l in labels {
                    *counts.entry(l).or_default() += 1;
                }
            }
            let mut out: Vec<Label> = (0..n_ell).map(|t| ELLIPSIS + t as Label).collect();
            out.extend(
                counts
                    .iter()
                    .filter(|&(&l, &c)| l < ELLIPSIS && c == 1)
                    .map(|(&l, _)| l),
            );
            out
        }
    };
    Ok(Spec {
        inputs,
        output,
        sizes,
    })
}

/// The distinct labels of a term, in first-appearance order.
fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut v: Vec<Label> = Vec::with_capacity(labels.len());
    for &l in labels {
        if !v.contains(&l) {
            v.push(l);
        }
    }
    v
}

fn size_of(labels: &[Label], sizes: &BTreeMap<Label, usize>) -> usize {
    labels.iter().map(|l| sizes[l]).product()
}

/// The labels of contracting `x` and `y` that are still needed: by the output or by one of
/// the `others`.
fn kept(x: &[Label], y: &[Label], others: &[&Vec<Label>], output: &[Label]) -> Vec<Label> {
    let mut v = distinct(&[x, y].concat());
    v.retain(|l| output.contains(l) || others.iter().any(|o| o.contains(l)));
    v
}

/// NumPy's greedy contraction order over the distinct label sets: repeatedly contract the
/// pair (among those sharing a label, if any) whose result shrinks memory the most; the
/// result goes to the end of the list.
fn greedy_path(
    terms: &[Vec<Label>],
    output: &[Label],
    sizes: &BTreeMap<Label, usize>,
) -> Vec<(usize, usize)> {
    let mut cur: Vec<Vec<Label>> = terms.iter().map(|t| distinct(t)).collect();
    let mut path = Vec::new();
    while cur.len() > 1 {
        let mut best: Option<(bool, isize, usize, usize)> = None;
        for i in 0..cur.len() {
            for j in i + 1..cur.len() {
                let shares = cur[i].iter().any(|l| cur[j].contains(l));
                let others: Vec<&Vec<Label>> = cur
                    .iter()
                    .enumerate()
                    .filter(|&(t, _)| t != i && t != j)
                    .map(|(_, v)| v)
                    .collect();
                let res = kept(&cur[i], &cur[j], &others, output);
                let removed = size_of(&res, sizes) as isize
                    - size_of(&cur[i], sizes) as isize
                    - size_of(&cur[j], sizes) as isize;
                let key = (!shares, removed, i, j);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
        }
        let (_, _, i, j) = best.expect("at least one pair");
        let others: Vec<&Vec<Label>> = cur
            .iter()
            .enumerate()
            .filter(|&(t, _)| t != i && t != j)
            .map(|(_, v)| v)
            .collect();
        let res = kept(&cur[i], &cur[j], &others, output);
        cur.remove(j);
        cur.remove(i);
        cur.push(res);
        path.push((i, j));
    }
    path
}

/// An operand during evaluation: the array and one label per axis.
struct Term {
    x: Array,
    labels: Vec<Label>,
}

impl Term {
    /// Sum the axes whose labels are not in `keep`.
    fn sum_except(self, keep: &[Label]) -> Result<Term> {
        let axes: Vec<isize> = (0..self.labels.len())
            .filter(|&a| !keep.contains(&self.labels[a]))
            .map(|a| a as isize)
            .collect();
        if axes.is_empty() {
            return Ok(self);
        }
        let labels = self
            .labels
            .iter()
            .copied()
            .filter(|l| keep.contains(l))
            .collect();
        Ok(Term {
            x: sum(&self.x, Some(&axes), false)?,
            labels,
        })
    }

    /// Permute the axes into the order of `order` (a permutation of the labels).
    fn permute(self, order: &[Label]) -> Result<Term> {
        let perm: Vec<isize> = order
            .iter()
            .map(|l| {
                self.labels
                    .iter()
                    .position(|x| x == l)
                    .expect("label present") as isize
            })
            .collect();
        Ok(Term {
            x: transpose_axes(&self.x, &perm)?,
            labels: order.to_vec(),
        })
    }
}

/// Take diagonals of repeated labels and broadcast size-1 axes to their label's size.
fn prepare(x: &Array, labels: &[Label], sizes: &BTreeMap<Label, usize>) -> Result<Term> {
    let mut x = x.clone();
    let mut labels = labels.to_vec();
    while let Some((i, j)) = (0..labels.len()).find_map(|i| {
        (i + 1..labels.len())
            .find(|&j| labels[j] == labels[i])
            .map(|j| (i, j))
    }) {
        // the diagonal's axis goes last
        x = diagonal(&x, 0, i as isize, j as isize)?;
        let l = labels[i];
        labels.remove(j);
        labels.remove(i);
        labels.push(l);
    }
    let full: Vec<usize> = labels.iter().map(|l| sizes[l]).collect();
    if full != x.shape() {
        x = broadcast_to(&x, &full)?;
    }
    Ok(Term { x, labels })
}

/// Contract two terms, keeping the labels in `keep`.
fn contract(a: Term, b: Term, keep: &[Label], sizes: &BTreeMap<Label, usize>) -> Result<Term> {
    // labels of one term only that nothing needs are summed first
    let a_keep: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| keep.contains(l) || b.labels.contains(l))
        .collect();
    let a = a.sum_except(&a_keep)?;
    let b_keep: Vec<Label> = b
        .labels
        .iter()
        .copied()
        .filter(|l| keep.contains(l) || a.labels.contains(l))
        .collect();
    let b = b.sum_except(&b_keep)?;
    let batch: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| b.labels.contains(l) && keep.contains(l))
        .collect();
    let summed: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| b.labels.contains(l) && !keep.contains(l))
        .collect();
    let a_free: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| !b.labels.contains(l))
        .collect();
    let b_free: Vec<Label> = b
        .labels
        .iter()
        .copied()
        .filter(|l| !a.labels.contains(l))
        .collect();
    let dims = |ls: &[Label]| -> Vec<usize> { ls.iter().map(|l| sizes[l]).collect() };
    let mut out_labels = batch.clone();
    out_labels.extend(&a_free);
    out_labels.extend(&b_free);
    let out_shape = dims(&out_labels);
    if summed.is_empty() {
        // an elementwise product with broadcasting
        let a = a.permute(&[batch.clone(), a_free.clone()].concat())?;
        let b = b.permute(&[batch.clone(), b_free.clone()].concat())?;
        let mut sa = dims(&batch);
        sa.extend(dims(&a_free));
        sa.extend(std::iter::repeat_n(1, b_free.len()));
        let mut sb = dims(&batch);
        sb.extend(std::iter::repeat_n(1, a_free.len()));
        sb.extend(dims(&b_free));
        let x = multiply(&reshape_to(&a.x, &sa)?, &reshape_to(&b.x, &sb)?)?;
        return Ok(Term {
            x: reshape_to(&x, &out_shape)?,
            labels: out_labels,
        });
    }
    let a = a.permute(&[batch.clone(), a_free.clone(), summed.clone()].concat())?;
    let b = b.permute(&[batch.clone(), summed.clone(), b_free.clone()].concat())?;
    let (m, k, n) = (
        size_of(&a_free, sizes),
        size_of(&summed, sizes),
        size_of(&b_free, sizes),
    );
    let mut sa = dims(&batch);
    sa.extend([m, k]);
    let mut sb = dims(&batch);
    sb.extend([k, n]);
    let x = matmul(&reshape_to(&a.x, &sa)?, &reshape_to(&b.x, &sb)?)?;
    Ok(Term {
        x: reshape_to(&x, &out_shape)?,
        labels: out_labels,
    })
}

/// Einstein summation (MLX's `einsum`): `subscripts` such as `"ij,jk->ik"` name each
/// operand's axes with letters (`...` for broadcast axes). Without `->` the output holds
/// the broadcast axes and then the letters used once, alphabetically. Labels missing from
/// the output are summed; a label repeated in one operand takes its diagonal; size-1 axes
/// broadcast. Contractions use [`matmul`] (floating dtypes).
pub fn einsum(subscripts: &str, operands: &[Array]) -> Result<Array> {
    let shapes: Vec<&[usize]> = operands.iter().map(|a| a.shape()).collect();
    let spec = parse(subscripts, &shapes)?;
    let path = greedy_path(&spec.inputs, &spec.output, &spec.sizes);
    let mut terms: Vec<Term> = operands
        .iter()
        .zip(&spec.inputs)
        .map(|(x, l)| prepare(x, l, &spec.sizes))
        .collect::<Result<_>>()?;
    // sum labels used by one operand only
    for t in 0..terms.len() {
        let keep: Vec<Label> = terms[t]
            .labels
            .iter()
            .copied()
            .filter(|l| {
                spec.output.contains(l)
                    || terms
                        .iter()
                        .enumerate()
                        .any(|(u, o)| u != t && o.labels.contains(l))
            })
            .collect();
        let term = std::mem::replace(
            &mut terms[t],
            Term {
                x: operands[t].clone(),
                labels: vec![],
            },
        );
        terms[t] = term.sum_except(&keep)?;
    }
    for (i, j) in path {
        let b = terms.remove(j);
        let a = terms.remove(i);
        let others: Vec<&Vec<Label>> = terms.iter().map(|t| &t.labels).collect();
        let keep = kept(&a.labels, &b.labels, &others, &spec.output);
        terms.push(contract(a, b, &keep, &spec.sizes)?);
    }
    let last = terms.pop().expect("one term left");
    let last = last.sum_except(&spec.output)?;
    Ok(last.permute(&spec.output)?.x)
}

/// The contraction order [`einsum`] uses and a report of its cost, as MLX's
/// `einsum_path`: a list of steps, each the positions of the operands contracted (the
/// result goes to the end of the list; a single operand gives `[[0]]`), and a text with
/// the naive and optimized scaling and FLOP counts.
pub fn einsum_path(subscripts: &str, operands: &[Array]) -> Result<(Vec<Vec<usize>>, String)> {
    let shapes: Vec<&[usize]> = operands.iter().map(|a| a.shape()).collect();
    let spec = parse(subscripts, &shapes)?;
    let sizes = &spec.sizes;
    let all: Vec<Label> = distinct(&spec.inputs.concat());
    let inner = all.iter().any(|l| !spec.output.contains(l));
    let naive_factor = (spec.inputs.len().saturating_sub(1)).max(1) + inner as usize;
    let naive_cost = size_of(&all, sizes) * naive_factor;
    let naive_scaling = all.len();
    let (path, opt_cost, opt_scaling) = if spec.inputs.len() == 1 {
        (vec![vec![0]], naive_cost, naive_scaling)
    } else {
        let steps = greedy_path(&spec.inputs, &spec.output, sizes);
        let mut cur: Vec<Vec<Label>> = spec.inputs.iter().map(|t| distinct(t)).collect();
        let (mut cost, mut scaling) = (0usize, 0usize);
        for &(i, j) in &steps {
            let b = cur.remove(j);
            let a = cur.remove(i);
            let others: Vec<&Vec<Label>> = cur.iter().collect();
            let keep = kept(&a, &b, &others, &spec.output);
            let union = distinct(&[a, b].concat());
            let removed = union.iter().any(|l| !keep.contains(l));
            cost += size_of(&union, sizes) * (1 + removed as usize);
            scaling = scaling.max(union.len());
            cur.push(keep);
        }
        (
            steps.iter().map(|&(i, j)| vec![i, j]).collect(),
            cost,
            scaling,
        )
    };
    let s: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
    let info = format!(
        "{:>22}:  {s}\n{:>22}:  {naive_scaling}\n{:>22}:  {opt_scaling}\n{:>22}:  {naive_cost}\n{:>22}:  {opt_cost}\n",
        "Complete contraction",
        "Naive scaling",
        "Optimized scaling",
        "Naive FLOP count",
        "Optimized FLOP count"
    );
    Ok((path, info))
}
