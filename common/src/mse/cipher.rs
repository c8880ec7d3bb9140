//! RC4 as MSE uses it: keyed with a 20-byte hash, its first 1024 bytes of keystream
//! discarded.

use rc4::consts::U20;
use rc4::{KeyInit, Rc4, StreamCipher};

pub struct Cipher(Rc4<U20>);

impl Cipher {
    pub(super) fn new(key: &[u8; 20]) -> Self {
        let mut c = Rc4::<U20>::new(key.into());
        let mut discard = [0u8; 1024];
        c.apply_keystream(&mut discard);
        Self(c)
    }

    /// A cipher keyed with `key` directly, for tests of code that carries one.
    #[doc(hidden)]
    pub fn for_test(key: &[u8; 20]) -> Self {
        Self::new(key)
    }

    /// Encrypts or decrypts `data` in place (RC4 is its own inverse), advancing the
    /// keystream.
    pub fn apply(&mut self, data: &mut [u8]) {
        self.0.apply_keystream(data);
    }
}
