//! `struct event_config`: a boxed core [`Config`].

use std::ffi::{CStr, c_char, c_int};

use evbase_core::{BaseFlags, Config, Features};

use crate::layout::Timeval;

/// The C type `struct event_config`.
#[repr(C)]
pub struct RawConfig {
    _opaque: [u8; 0],
}

impl RawConfig {
    /// The config behind a C pointer.
    ///
    /// # Safety
    /// NULL or a pointer from `event_config_new` not yet freed.
    pub(crate) unsafe fn get<'a>(cfg: *const RawConfig) -> Option<&'a Config> {
        // SAFETY: the caller's promise.
        unsafe { (cfg as *const Config).as_ref() }
    }

    /// # Safety
    /// As [`RawConfig::get`].
    unsafe fn get_mut<'a>(cfg: *mut RawConfig) -> Option<&'a mut Config> {
        // SAFETY: the caller's promise.
        unsafe { (cfg as *mut Config).as_mut() }
    }
}

/// A config in memory from the user's allocator (`event_set_mem_functions`),
/// as libevent's are; NULL when it fails.
#[unsafe(no_mangle)]
pub extern "C" fn event_config_new() -> *mut RawConfig {
    let p = crate::mm::malloc(std::mem::size_of::<Config>()) as *mut Config;
    if !p.is_null() {
        // SAFETY: fresh memory of Config's size from malloc, which aligns
        // for any type.
        unsafe { p.write(Config::new()) };
    }
    p as *mut RawConfig
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_free(cfg: *mut RawConfig) {
    if !cfg.is_null() {
        // SAFETY: a config from event_config_new, not used again: dropped
        // in place, its memory handed back to the allocator it came from.
        unsafe {
            (cfg as *mut Config).drop_in_place();
            crate::mm::free(cfg as *mut std::ffi::c_void);
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_avoid_method(cfg: *mut RawConfig, method: *const c_char) -> c_int {
    // SAFETY: C passes NULL or a config.
    let Some(c) = (unsafe { RawConfig::get_mut(cfg) }) else {
        return -1;
    };
    if method.is_null() {
        return -1;
    }
    // SAFETY: a NUL-terminated string from C.
    let name = unsafe { CStr::from_ptr(method) }.to_string_lossy();
    c.avoid_method(&name).map_or(-1, |_| 0)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_require_features(cfg: *mut RawConfig, features: c_int) -> c_int {
    // SAFETY: C passes NULL or a config.
    let Some(c) = (unsafe { RawConfig::get_mut(cfg) }) else {
        return -1;
    };
    c.require_features(Features::from_bits_truncate(features as u8));
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_set_flag(cfg: *mut RawConfig, flag: c_int) -> c_int {
    // SAFETY: C passes NULL or a config.
    let Some(c) = (unsafe { RawConfig::get_mut(cfg) }) else {
        return -1;
    };
    c.set_flag(BaseFlags::from_bits_truncate(flag as u8));
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_set_num_cpus_hint(cfg: *mut RawConfig, cpus: c_int) -> c_int {
    // SAFETY: C passes NULL or a config.
    let Some(c) = (unsafe { RawConfig::get_mut(cfg) }) else {
        return -1;
    };
    c.set_num_cpus_hint(cpus.max(0) as usize);
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_set_max_dispatch_interval(
    cfg: *mut RawConfig,
    max_interval: *const Timeval,
    max_callbacks: c_int,
    min_priority: c_int,
) -> c_int {
    // SAFETY: C passes NULL or a config.
    let Some(c) = (unsafe { RawConfig::get_mut(cfg) }) else {
        return -1;
    };
    // SAFETY: C passes NULL or a timeval.
    let interval = unsafe { max_interval.as_ref() }.map(crate::layout::duration_of);
    let callbacks = (max_callbacks >= 0).then_some(max_callbacks as u32);
    c.set_max_dispatch_interval(interval, callbacks, min_priority);
    0
}
