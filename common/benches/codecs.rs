//! The codecs on the hot paths of the tracker, the seeder and the load generator, without
//! I/O: `cargo bench -p seedline-common --bench codecs`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seedline_common::announce_response::ReplyView;
use seedline_common::wire::{write_piece_header, Message};
use seedline_common::{AnnounceRequest, AnnounceResponse, Metainfo};

const QUERY: &[u8] =
    b"info_hash=%124Vx%9A%BC%DE%F0%124Vx%9A%BC%DE%F0%124Vx&peer_id=-qB4630-a1b2c3d4e5f6\
&port=6881&uploaded=0&downloaded=0&left=1048576&corrupt=0&key=5B2C1A8E&event=started&numwant=50\
&compact=1&no_peer_id=1&supportcrypto=1&redundant=0";

/// A compact reply with 50 IPv4 peers, as the tracker sends for `numwant=50`.
fn reply() -> Vec<u8> {
    seedline_common::sample::announce_reply(50)
}

fn announce(c: &mut Criterion) {
    let mut g = c.benchmark_group("announce");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_query", |b| {
        b.iter(|| AnnounceRequest::parse_query(black_box(QUERY)).unwrap())
    });
    let bytes = reply();
    g.bench_function("decode_reply_50_peers", |b| {
        b.iter(|| AnnounceResponse::decode(black_box(&bytes)).unwrap())
    });
    g.bench_function("view_reply_50_peers", |b| {
        b.iter(|| ReplyView::parse(black_box(&bytes)).unwrap().peer_count())
    });
    let r = AnnounceResponse::decode(&bytes).unwrap();
    let mut out = Vec::with_capacity(512);
    g.bench_function("encode_reply_50_peers", |b| {
        b.iter(|| {
            out.clear();
            black_box(&r).encode(&mut out);
        })
    });
    g.finish();
}

fn wire(c: &mut Criterion) {
    let mut frame = Vec::new();
    write_piece_header(&mut frame, 7, 16384, 16384);
    frame.resize(frame.len() + 16384, 0xab);
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_piece_16k", |b| {
        b.iter(|| Message::decode(black_box(&frame), 1 << 20).unwrap())
    });
    g.finish();
}

fn metainfo(c: &mut Criterion) {
    let torrent: &[u8] = include_bytes!("../src/metainfo/testdata/mktorrent-dir.torrent");
    let mut g = c.benchmark_group("metainfo");
    g.throughput(Throughput::Bytes(torrent.len() as u64));
    g.bench_function("parse_mktorrent_dir", |b| {
        b.iter(|| Metainfo::from_bytes(black_box(torrent)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, announce, wire, metainfo);
criterion_main!(benches);
