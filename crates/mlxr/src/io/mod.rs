//! Reading and writing arrays: `.npy`/`.npz` (NumPy) and `.safetensors`.

pub mod npy;

pub use npy::{load_npy, load_npy_bytes, save_npy, save_npy_bytes};
