//! Seedline origin seeder (see issue: seeder). Nothing here yet.
