//! `mlxr::distributed` in one process: the backend-less singleton group (every collective
//! is the identity, point-to-point is an error) and, with the CUDA feature on a machine
//! with a GPU and NCCL, a size-1 NCCL communicator running the real NCCL calls. The
//! multi-process checks are in `tests/distributed_mpi.rs`.

use mlxr::distributed::{self, Group};
use mlxr::{ops, Array, Dtype};

#[test]
fn singleton_collectives_are_the_identity() {
    let g = Group::singleton();
    assert_eq!((g.rank(), g.size(), g.backend_name()), (0, 1, "singleton"));
    let x = Array::from_slice(&[1.0f32, -2.0, 3.5, 4.0], &[2, 2]).unwrap();
    for y in [
        distributed::all_sum(&x, Some(&g)).unwrap(),
        distributed::all_max(&x, Some(&g)).unwrap(),
        distributed::all_min(&x, Some(&g)).unwrap(),
        distributed::all_gather(&x, Some(&g)).unwrap(),
        distributed::sum_scatter(&x, Some(&g)).unwrap(),
    ] {
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.0, -2.0, 3.5, 4.0]);
    }
    // A gathered scalar has one element per process.
    let s = distributed::all_gather(&Array::scalar(7i32), Some(&g)).unwrap();
    assert_eq!(s.shape(), &[1]);
    assert_eq!(s.to_vec::<i32>().unwrap(), vec![7]);
    // No peer to talk to; no axis to scatter.
    assert!(distributed::send(&x, 0, Some(&g)).is_err());
    assert!(distributed::recv(&[2], Dtype::Float32, 0, Some(&g)).is_err());
    assert!(distributed::recv_like(&x, 0, Some(&g)).is_err());
    assert!(distributed::sum_scatter(&Array::scalar(1.0f32), Some(&g)).is_err());
    let split = g.split(3, None).unwrap();
    assert_eq!(split.size(), 1);
    assert!(g.split(-1, None).is_err());
}

#[test]
fn init_without_a_launcher() {
    // Not started by a launcher: the world has one process; strict asks for a backend.
    let g = distributed::init(false, "any").unwrap();
    assert_eq!((g.rank(), g.size()), (0, 1));
    assert!(distributed::world().unwrap().same(&g) || g.size() == 1);
    if !distributed::launched_by_mpi() && g.is_singleton() {
        assert!(distributed::init(true, "any").is_err());
    }
    assert!(distributed::init(false, "gloo").is_err());
    // Ops without a group use the world.
    let y = distributed::all_sum(&Array::scalar(2.5f32), None).unwrap();
    assert_eq!(y.item::<f32>().unwrap(), 2.5);
    assert!(!distributed::is_available("gloo"));
}

#[test]
fn singleton_gradients_pass_through() {
    let g = Group::singleton();
    let f = move |a: &[Array]| {
        let s = distributed::all_sum(&a[0], Some(&g))?;
        Ok(vec![ops::sum(&ops::multiply(&s, &s)?, None, false)?])
    };
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    let d = mlxr::grad(f, &[0])(&[x]).unwrap();
    assert_eq!(d[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0, 6.0]);
}

/// A size-1 NCCL communicator on GPU 0: the NCCL calls run and give back the input.
#[cfg(feature = "cuda")]
#[test]
fn nccl_size_one_group() {
    if !distributed::is_available("nccl") {
        println!("skipping: no GPU or no libnccl.so.2");
        return;
    }
    let g = distributed::init(true, "nccl").expect("NCCL init");
    assert_eq!((g.backend_name(), g.rank(), g.size()), ("nccl", 0, 1));
    let gpu = mlxr::Device::gpu(0).unwrap();
    mlxr::with_device(gpu, || {
        for dt in [Dtype::Float32, Dtype::Bfloat16, Dtype::Int32, Dtype::Bool] {
            let x = ops::astype(
                &Array::from_slice(&[1.0f32, 0.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
                dt,
            )
            .unwrap();
            let want = ops::astype(&x, Dtype::Float32)
                .unwrap()
                .to_vec::<f32>()
                .unwrap();
            let xt = ops::transpose(&x).unwrap();
            let want_t = ops::astype(&xt, Dtype::Float32)
                .unwrap()
                .to_vec::<f32>()
                .unwrap();
            let read = |a: &Array| {
                ops::astype(a, Dtype::Float32)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap()
            };
            assert_eq!(read(&distributed::all_sum(&x, Some(&g)).unwrap()), want);
            assert_eq!(read(&distributed::all_max(&x, Some(&g)).unwrap()), want);
            assert_eq!(read(&distributed::all_min(&xt, Some(&g)).unwrap()), want_t);
            let ga = distributed::all_gather(&x, Some(&g)).unwrap();
            assert_eq!(ga.shape(), &[3, 2]);
            assert_eq!(read(&ga), want);
            assert_eq!(read(&distributed::sum_scatter(&x, Some(&g)).unwrap()), want);
        }
    });
}
