// Throwaway benchmark keys generated with openssl for this file only; they protect nothing.

/// RSA 2048 private key, PKCS#1 DER, base64.
pub(crate) const RSA_DER: &[&str] = &[
    "MIIEowIBAAKCAQEArecuVgs6zuUSbg0KsYJi0VwXjn99ZJdkk7hqIKuUWs6NR75Jw2kPb38f93jX0lxegMpAgKzr",
    "HTy4Bm0HxxZVzWHGmgVTK61hOPOd9Mnayqxgu0Z6wvT+8EG2Gf66wu7sHPVJPgekKcCruuKWvYmhQz/pdgmqJ5rN",
    "UKJZ27afE43uVS2GaVYorXIBbJ1QIyriDkjKfF2XQ5N2eOWRVPszHXOK4OM29zCYgcpHACIxJDLR1WyXwzBKVTaC",
    "Ltjx/4d7On01MjWZSfP24OX4Kr10S6de5FGUjzX7Me9+3VRHHngtUCQfmdnSMdu96EApVfuqrvGETEOcHeX2ZbfE",
    "YjpCiwIDAQABAoIBADyFxzYR7XMg/TOI3W5e4vZbFyW0UBcoq0vP9DuPi2+5EClmW/SixUj4FM+DYpVnKUqoWR+P",
    "Trpbre4qlvjeWJlEjKKA9OuwCTSRcKlHcRp1OKskwcfFDU7fh7lvUl9SWKFRap6oeSVA1WOSxYSMeC/X9+/pOCtV",
    "cFw+TIive5iJi2Hc2EZb5Qsm0cXX0KGTBbbMuaZEOjMBawDmDmNo54uaShSgTTvNH5ZT9vhKiKPPTAexebVg1W/u",
    "vjMFAZz1hPdSGWAPo4FYznwHrwLUbJik8se2qWWVNDCmghNX/lXJCTi3+LXeSnKGmgl3BCRSmky14qioUUtwJWU+",
    "x7ReZa0CgYEA3PE7vUo4YbedjDkKmODtAJ36IW00qg6+hTR02NPKgM36PG6t+AAbQHyJ10kNIKrvyI4Kn8iIVLuU",
    "omixDm9s4k+WDfIeMeq8cv5hkZ2GBdp0Aq9SrBTPZgXTrL2QFSsXlE1cd3wTp3C2f/dwW39DOJhshHqgqEuw17OT",
    "dkPAO18CgYEAyX8xipdLTtd7aIoB3FUeWufUw5H0BH+6PDBX4QjT3UDBbdccrx5iqps91EAQbI5iy8iE4EUy9UKq",
    "6dmjX2QMdMGKzQ2sbw4KzoUX4coslwhYubBejRzqdGZyvdxsG6mcG05cAOvmltqRKK6P6TAD1cq2GYKH5dVSoo4n",
    "9Bcw9FUCgYAy8ypMj3YLCrW5JVpNQOlGkCejV7SiVr4Wp68eZVC4fUdscjWKEDQ4nb+Htt/hHaon/KF0kWDm8U7o",
    "WO4jnwxj7+hxlNjjt/b3KbRESSgj52mDSPzuk+nz4/oZRqmYSBSq7WAaabF6lmJvhhcR8noE7hlwP3sW9EV2qIGj",
    "7yHATwKBgQC+Le70gBf0Mi2oXZmj/DLKWkXW0Msf8+4zIO3Q2CQfkB8BLSdFocg+foe87TqTO1DERl4jzyxpkKMA",
    "VQp93lBjYsk/AMjfiMFqavQ/iDLN2nLj0DNtvP0NICTsTj87XLqaizsLI5xghaq8WwY5cbgs8UcujKT3qIB2LPZI",
    "zBrIgQKBgELp7ucPbOEoV8xYDbDPdZsX0CQxeYil5FQrDGdph+JwKf9+pSksDdjZLdL9SVeU6L93APWstHs7Wmfc",
    "OL9okEfpPUePuHxdbmzSYHBiWTaCFe07RtzUpHUjex+qVJV9arr6yJHh6HCPvbP0IfK3tk7KBoRc0C2pu/beprso",
    "5ykr",
];
/// Its modulus, base64url (the exponent is AQAB).
pub(crate) const RSA_N: &[&str] = &[
    "recuVgs6zuUSbg0KsYJi0VwXjn99ZJdkk7hqIKuUWs6NR75Jw2kPb38f93jX0lxegMpAgKzrHTy4Bm0HxxZVzWHG",
    "mgVTK61hOPOd9Mnayqxgu0Z6wvT-8EG2Gf66wu7sHPVJPgekKcCruuKWvYmhQz_pdgmqJ5rNUKJZ27afE43uVS2G",
    "aVYorXIBbJ1QIyriDkjKfF2XQ5N2eOWRVPszHXOK4OM29zCYgcpHACIxJDLR1WyXwzBKVTaCLtjx_4d7On01MjWZ",
    "SfP24OX4Kr10S6de5FGUjzX7Me9-3VRHHngtUCQfmdnSMdu96EApVfuqrvGETEOcHeX2ZbfEYjpCiw",
];
/// P-256 private key, PKCS#8 DER, base64.
pub(crate) const EC_P8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLvXVjuAOM1OZCTmGWwjMMxFJbA5h1ceOhoJk7qsj1/KhRANCAASuGq+HTuJYaorJA+qeduWzKT0gK4GOAk5i/T/EuaquaZtedNUXTObJLlNTTgZLKkIc3U4LRGC7I3ib9qI6EAGH";
/// Its public point.
pub(crate) const EC_X: &str = "rhqvh07iWGqKyQPqnnblsyk9ICuBjgJOYv0_xLmqrmk";
/// Its public point.
pub(crate) const EC_Y: &str = "m1501RdM5skuU1NOBksqQhzdTgtEYLsjeJv2ojoQAYc";
