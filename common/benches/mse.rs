//! The cost of encrypted connections (issue 18): one whole MSE handshake as the
//! responder does it (two 768-bit modular exponentiations and the hashing), and RC4 per
//! byte.
//!
//!   cargo bench -p seedline-common --bench mse

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seedline_common::mse::{req2, Initiator, Methods, Responder, RC4};
use seedline_common::InfoHash;

const IH: InfoHash = InfoHash([3; 20]);

fn handshake(c: &mut Criterion) {
    let methods = Methods {
        rc4: true,
        plaintext: true,
        prefer_rc4: true,
    };
    let lookup = |r: &[u8; 20]| (*r == req2(&IH)).then_some(IH);
    // The initiator's bytes, made once: only the responder's work is timed.
    let mut ya = Vec::new();
    let mut a = Initiator::new(&[1; 20], &[], IH, RC4, &[0x13; 68], &mut ya);
    let mut yb = Vec::new();
    Responder::new(&[2; 20], &[], methods)
        .receive(&ya, lookup, &mut yb)
        .unwrap();
    let mut step3 = Vec::new();
    a.receive(&yb, &mut step3).unwrap();
    c.bench_function("mse_responder_handshake", |b| {
        b.iter(|| {
            let mut r = Responder::new(&[2; 20], &[], methods);
            let mut out = Vec::new();
            r.receive(black_box(&ya), lookup, &mut out).unwrap();
            r.receive(black_box(&step3), lookup, &mut out)
                .unwrap()
                .unwrap()
        })
    });
}

fn rc4(c: &mut Criterion) {
    let mut ya = Vec::new();
    let mut a = Initiator::new(&[1; 20], &[], IH, RC4, &[], &mut ya);
    let mut yb = Vec::new();
    let methods = Methods {
        rc4: true,
        plaintext: false,
        prefer_rc4: true,
    };
    let lookup = |r: &[u8; 20]| (*r == req2(&IH)).then_some(IH);
    let mut b = Responder::new(&[2; 20], &[], methods);
    b.receive(&ya, lookup, &mut yb).unwrap();
    let mut step3 = Vec::new();
    a.receive(&yb, &mut step3).unwrap();
    let mut e = b.receive(&step3, lookup, &mut Vec::new()).unwrap().unwrap();
    let (_, mut send) = e.ciphers.take().unwrap();
    let mut block = vec![0u8; 256 * 1024];
    let mut g = c.benchmark_group("rc4");
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("encrypt_256KiB", |b| {
        b.iter(|| send.apply(black_box(&mut block)))
    });
    g.finish();
}

criterion_group!(benches, handshake, rc4);
criterion_main!(benches);
