// SPDX-License-Identifier: GPL-2.0
// A throwaway CA and node certificates for tests that need a real TLS
// link: made with OpenSSL in a temporary directory, removed with it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <string>

#include "config.hpp"

namespace failover::testing {

class TestPki {
public:
	TestPki()
	{
		char tmpl[] = "/tmp/failover-pki-XXXXXX";
		if (!::mkdtemp(tmpl))
			throw std::runtime_error("mkdtemp");
		dir_ = tmpl;
		ca_key_ = make_key();
		ca_ = make_cert("test CA", ca_key_.get(), nullptr);
		write_pem(ca_path(), [&](FILE *f) { return PEM_write_X509(f, ca_.get()); });
	}
	~TestPki() { std::filesystem::remove_all(dir_); }
	TestPki(const TestPki &) = delete;
	TestPki &operator=(const TestPki &) = delete;

	// A config for @node with a certificate of this CA naming it, which
	// trusts certificates naming @peer.
	Config node(const std::string &node, const std::string &peer)
	{
		const auto key = make_key();
		const auto cert = make_cert(node, key.get(), ca_.get());
		Config c;
		c.node = node;
		c.certificate = (dir_ / (node + ".crt")).string();
		c.key = (dir_ / (node + ".key")).string();
		c.ca = ca_path();
		c.peer_names = {peer};
		write_pem(c.certificate, [&](FILE *f) { return PEM_write_X509(f, cert.get()); });
		write_pem(c.key, [&](FILE *f) {
			return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
		});
		return c;
	}

private:
	struct FreeKey {
		void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
	};
	struct FreeCert {
		void operator()(X509 *x) const { X509_free(x); }
	};
	using Key = std::unique_ptr<EVP_PKEY, FreeKey>;
	using Cert = std::unique_ptr<X509, FreeCert>;

	std::string ca_path() const { return (dir_ / "ca.crt").string(); }

	static Key make_key()
	{
		Key k(EVP_EC_gen("P-256"));
		if (!k)
			throw std::runtime_error("EVP_EC_gen");
		return k;
	}

	static void extend(X509 *x, X509 *issuer, int nid, const std::string &value)
	{
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
		if (!ext || X509_add_ext(x, ext, -1) != 1)
			throw std::runtime_error("extension " + value);
		X509_EXTENSION_free(ext);
	}

	// Self-signed when @issuer is null: the CA. Otherwise a node's
	// certificate, its name in subjectAltName as the daemon checks it.
	Cert make_cert(const std::string &name, EVP_PKEY *key, X509 *issuer)
	{
		Cert x(X509_new());
		X509_set_version(x.get(), 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial_);
		X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
		X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_UTF8,
					   reinterpret_cast<const unsigned char *>(name.c_str()), -1,
					   -1, 0);
		X509_set_issuer_name(x.get(), X509_get_subject_name(issuer ? issuer : x.get()));
		X509_set_pubkey(x.get(), key);
		if (issuer) {
			extend(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
			extend(x.get(), issuer, NID_subject_alt_name, "DNS:" + name);
		} else {
			extend(x.get(), nullptr, NID_basic_constraints, "critical,CA:TRUE");
			extend(x.get(), nullptr, NID_key_usage, "critical,keyCertSign");
		}
		if (!X509_sign(x.get(), issuer ? ca_key_.get() : key, EVP_sha256()))
			throw std::runtime_error("signing " + name);
		return x;
	}

	static void write_pem(const std::string &path, const auto &write)
	{
		std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(path.c_str(), "w"), std::fclose);
		if (!f || write(f.get()) != 1)
			throw std::runtime_error("writing " + path);
	}

	std::filesystem::path dir_;
	Key ca_key_;
	Cert ca_;
	long serial_ = 0;
};

} // namespace failover::testing
