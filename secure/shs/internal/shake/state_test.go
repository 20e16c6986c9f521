package shake

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/nacl/auth"

	"github.com/go-multiserver/multiserver/stack"
)

// hexb is a hex string in the vector files; JSON null decodes to nil.
type hexb []byte

func (h *hexb) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type jsSide struct {
	KxPK      hexb `json:"kx_pk"`
	KxSK      hexb `json:"kx_sk"`
	PublicKey hexb `json:"publicKey"`
	SecretKey hexb `json:"secretKey"`
	AppMac    hexb `json:"app_mac"`
	Hello     hexb `json:"hello"`
}

type jsState struct {
	AppKey     hexb   `json:"app_key"`
	Local      jsSide `json:"local"`
	Remote     jsSide `json:"remote"`
	Seed       hexb   `json:"seed"`
	Random     hexb   `json:"random"`
	Secret     hexb   `json:"secret"`
	Shash      hexb   `json:"shash"`
	ABob       hexb   `json:"a_bob"`
	BAlice     hexb   `json:"b_alice"`
	Secret2    hexb   `json:"secret2"`
	Secret3    hexb   `json:"secret3"`
	EncryptKey hexb   `json:"encryptKey"`
	DecryptKey hexb   `json:"decryptKey"`
}

type stepVector struct {
	Name   string            `json:"name"`
	Args   []json.RawMessage `json:"args"`
	Result json.RawMessage   `json:"result"`
}

const testdata = "../../testdata/"

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(testdata + path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// stateFrom rebuilds a State from a recorded JS state. Fields the step does
// not read may be absent.
func stateFrom(t *testing.T, js jsState) *State {
	t.Helper()
	lt, err := NewLongTerm(ed25519.PrivateKey(js.Local.SecretKey))
	if err != nil {
		t.Fatalf("local key: %v", err)
	}
	if !bytes.Equal(lt.Public, js.Local.PublicKey) {
		t.Fatal("local public key does not match its secret key")
	}
	var k [32]byte
	copy(k[:], js.AppKey)
	s, err := NewStateWithEphemeral(&k, lt, nil, js.Local.KxSK)
	if err != nil {
		t.Fatal(err)
	}
	if js.Local.KxPK != nil {
		eq(t, "kx_pk from kx_sk", s.ephPub[:], js.Local.KxPK)
	}
	if js.Remote.PublicKey != nil {
		s.remotePub = ed25519.PublicKey(js.Remote.PublicKey)
		if s.remoteX, err = RemoteLongTerm(js.Remote.PublicKey); err != nil {
			t.Fatal(err)
		}
	}
	if js.Remote.KxPK != nil {
		copy(s.remoteEphPub[:], js.Remote.KxPK)
	}
	copy(s.remoteMAC[:], js.Remote.AppMac)
	if js.Secret != nil {
		copy(s.ab[:], js.Secret)
	}
	copy(s.abHash[:], js.Shash)
	if js.ABob != nil {
		copy(s.aB[:], js.ABob)
		s.haveAB = true
	}
	if js.BAlice != nil {
		copy(s.Ab[:], js.BAlice)
		s.haveAb = true
	}
	if js.Local.Hello != nil {
		copy(s.hello[:], js.Local.Hello)
	}
	if js.Remote.Hello != nil {
		copy(s.hello[:], js.Remote.Hello)
	}
	return s
}

func eq(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// TestStepVectors replays the 159 calls recorded from the JS reference
// (test-secret-handshake data.json) against the Go steps.
func TestStepVectors(t *testing.T) {
	var vecs []stepVector
	loadJSON(t, "shs1/test-secret-handshake-data.json", &vecs)
	if len(vecs) != 159 {
		t.Fatalf("got %d vectors, want 159", len(vecs))
	}
	counts := map[string]int{}
	rejected := 0
	for i, v := range vecs {
		counts[v.Name]++
		isNull := string(v.Result) == "null"
		if isNull {
			rejected++
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Logf("vector %d", i)
			switch v.Name {
			case "toKeys":
				var seed string
				want := decode[jsSide](t, v.Result)
				if json.Unmarshal(v.Args[0], &seed) == nil {
					sb, _ := hex.DecodeString(seed)
					priv := ed25519.NewKeyFromSeed(sb)
					eq(t, "secretKey", priv, want.SecretKey)
					eq(t, "publicKey", priv.Public().(ed25519.PublicKey), want.PublicKey)
				} else {
					in := decode[jsSide](t, v.Args[0])
					lt, err := NewLongTerm(ed25519.PrivateKey(in.SecretKey))
					if err != nil {
						t.Fatal(err)
					}
					eq(t, "publicKey", lt.Public, want.PublicKey)
				}
			case "initialize":
				js := decode[jsState](t, v.Args[0])
				eph, err := ecdh.X25519().NewPrivateKey(js.Local.KxSK)
				if err != nil {
					t.Fatal(err)
				}
				eq(t, "kx_pk", eph.PublicKey().Bytes(), js.Local.KxPK)
				var sk [32]byte
				copy(sk[:], js.Local.KxSK)
				pk := x25519Base(&sk)
				eq(t, "kx_pk (fixed-base)", pk[:], js.Local.KxPK)
				var k [32]byte
				copy(k[:], js.AppKey)
				eq(t, "app_mac", auth.Sum(js.Local.KxPK, &k)[:], js.Local.AppMac)
				// The JS makes its ephemeral key from an Ed25519 seed.
				rnd := ed25519.NewKeyFromSeed(js.Random)
				eq(t, "kx_sk from random", Curve25519Scalar(rnd), js.Local.KxSK)
				xpk, err := Curve25519Public(rnd.Public().(ed25519.PublicKey))
				if err != nil {
					t.Fatal(err)
				}
				eq(t, "kx_pk from random", xpk, js.Local.KxPK)
				if js.Seed != nil {
					eq(t, "publicKey from seed", ed25519.NewKeyFromSeed(js.Seed).Public().(ed25519.PublicKey), js.Local.PublicKey)
				}
			case "createChallenge":
				s := stateFrom(t, decode[jsState](t, v.Args[0]))
				eq(t, "hello", s.Hello(), decode[hexb](t, v.Result))
			case "verifyChallenge", "clientVerifyChallenge":
				in := decode[jsState](t, v.Args[0])
				in.Secret, in.Shash, in.ABob, in.Remote.KxPK, in.Remote.AppMac = nil, nil, nil, nil, nil
				s := stateFrom(t, in)
				err := s.VerifyHello(decode[hexb](t, v.Args[1]))
				if isNull {
					if !errors.Is(err, ErrNetworkKey) {
						t.Fatalf("got %v, want ErrNetworkKey", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := decode[jsState](t, v.Result)
				eq(t, "secret", s.ab[:], want.Secret)
				eq(t, "shash", s.abHash[:], want.Shash)
				eq(t, "remote.kx_pk", s.remoteEphPub[:], want.Remote.KxPK)
				eq(t, "remote.app_mac", s.remoteMAC[:], want.Remote.AppMac)
				if v.Name == "clientVerifyChallenge" {
					if _, err := s.ClientAuth(); err != nil {
						t.Fatal(err)
					}
					eq(t, "a_bob", s.aB[:], want.ABob)
					k2 := s.key2()
					eq(t, "secret2", k2[:], want.Secret2)
					eq(t, "local.hello", s.hello[:], want.Local.Hello)
				}
			case "clientCreateAuth":
				s := stateFrom(t, decode[jsState](t, v.Args[0]))
				got, err := s.ClientAuth()
				if err != nil {
					t.Fatal(err)
				}
				eq(t, "msg3", got, decode[hexb](t, v.Result))
			case "serverVerifyAuth":
				in := decode[jsState](t, v.Args[0])
				in.Remote.PublicKey, in.Remote.Hello, in.ABob, in.BAlice = nil, nil, nil, nil
				s := stateFrom(t, in)
				err := s.VerifyClientAuth(decode[hexb](t, v.Args[1]))
				if isNull {
					if err == nil {
						t.Fatal("accepted a msg3 the JS rejected")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := decode[jsState](t, v.Result)
				eq(t, "remote.publicKey", s.remotePub, want.Remote.PublicKey)
				eq(t, "remote.hello", s.hello[:], want.Remote.Hello)
				eq(t, "a_bob", s.aB[:], want.ABob)
				eq(t, "b_alice", s.Ab[:], want.BAlice)
				k2, k3 := s.key2(), s.key3()
				eq(t, "secret2", k2[:], want.Secret2)
				eq(t, "secret3", k3[:], want.Secret3)
			case "serverCreateAccept":
				s := stateFrom(t, decode[jsState](t, v.Args[0]))
				eq(t, "msg4", s.ServerAccept(), decode[hexb](t, v.Result))
			case "clientVerifyAccept":
				in := decode[jsState](t, v.Args[0])
				in.BAlice = nil
				s := stateFrom(t, in)
				err := s.VerifyServerAccept(decode[hexb](t, v.Args[1]))
				if isNull {
					if err == nil {
						t.Fatal("accepted a msg4 the JS rejected")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := decode[jsState](t, v.Result)
				eq(t, "b_alice", s.Ab[:], want.BAlice)
				k3 := s.key3()
				eq(t, "secret3", k3[:], want.Secret3)
			case "clean":
				js := decode[jsState](t, v.Result)
				var kk [32]byte
				copy(kk[:], js.Secret)
				ek := streamKey(&kk, js.Remote.PublicKey)
				dk := streamKey(&kk, js.Local.PublicKey)
				eq(t, "encryptKey", ek[:], js.EncryptKey)
				eq(t, "decryptKey", dk[:], js.DecryptKey)
			default:
				t.Fatalf("unknown vector %q", v.Name)
			}
		})
	}
	want := map[string]int{"initialize": 34, "createChallenge": 31, "verifyChallenge": 30,
		"clientVerifyChallenge": 14, "clientCreateAuth": 12, "serverVerifyAuth": 12,
		"clientVerifyAccept": 6, "serverCreateAccept": 6, "clean": 12, "toKeys": 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d vectors, want %d", k, counts[k], n)
		}
	}
	if rejected != 7 {
		t.Errorf("%d rejections, want 7", rejected)
	}
}

type fullVector struct {
	NetworkIdentifier hexb `json:"network_identifier"`
	ClientLongtermSK  hexb `json:"client_longterm_sk"`
	ClientLongtermPK  hexb `json:"client_longterm_pk"`
	ClientEphemeralSK hexb `json:"client_ephemeral_sk"`
	ClientEphemeralPK hexb `json:"client_ephemeral_pk"`
	ServerLongtermSK  hexb `json:"server_longterm_sk"`
	ServerLongtermPK  hexb `json:"server_longterm_pk"`
	ServerEphemeralSK hexb `json:"server_ephemeral_sk"`
	ServerEphemeralPK hexb `json:"server_ephemeral_pk"`
	Msg1              hexb `json:"msg1"`
	Msg2              hexb `json:"msg2"`
	Msg3              hexb `json:"msg3"`
	Msg4              hexb `json:"msg4"`
	ClientOutcome     outcome
	ServerOutcome     outcome
}

type outcome struct {
	EncryptionKey   hexb `json:"encryption_key"`
	EncryptionNonce hexb `json:"encryption_nonce"`
	DecryptionKey   hexb `json:"decryption_key"`
	DecryptionNonce hexb `json:"decryption_nonce"`
}

func (o outcome) bytes() []byte {
	return bytes.Join([][]byte{o.EncryptionKey, o.EncryptionNonce, o.DecryptionKey, o.DecryptionNonce}, nil)
}

// scripted is a ReadWriter that replays the peer's messages and records
// what we write.
type scripted struct {
	in  io.Reader
	out bytes.Buffer
}

func (s *scripted) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s *scripted) Write(p []byte) (int, error) { return s.out.Write(p) }

func loadFull(t *testing.T) (fv fullVector) {
	t.Helper()
	var raw struct {
		fullVector
		ClientOutcome outcome `json:"client_outcome"`
		ServerOutcome outcome `json:"server_outcome"`
	}
	loadJSON(t, "shs1/handshake-full.json", &raw)
	fv = raw.fullVector
	fv.ClientOutcome, fv.ServerOutcome = raw.ClientOutcome, raw.ServerOutcome
	return fv
}

func TestFullHandshakeVector(t *testing.T) {
	fv := loadFull(t)
	var k [32]byte
	copy(k[:], fv.NetworkIdentifier)

	t.Run("client", func(t *testing.T) {
		lt, err := NewLongTerm(ed25519.PrivateKey(fv.ClientLongtermSK))
		if err != nil {
			t.Fatal(err)
		}
		eph, _ := ecdh.X25519().NewPrivateKey(fv.ClientEphemeralSK)
		eq(t, "client eph pk", eph.PublicKey().Bytes(), fv.ClientEphemeralPK)
		s, err := NewStateWithEphemeral(&k, lt, ed25519.PublicKey(fv.ServerLongtermPK), fv.ClientEphemeralSK)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "client eph pk (fixed-base)", s.ephPub[:], fv.ClientEphemeralPK)
		rw := &scripted{in: bytes.NewReader(append(append([]byte{}, fv.Msg2...), fv.Msg4...))}
		keys, err := Client(rw, s)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "msg1||msg3", rw.out.Bytes(), append(append([]byte{}, fv.Msg1...), fv.Msg3...))
		eq(t, "client outcome", keys.Outcome(), fv.ClientOutcome.bytes())
	})
	// Under pressure the server computes ab and aB after msg3, not
	// before: the same bytes either way.
	for _, pressure := range []bool{false, true} {
		t.Run(fmt.Sprintf("server/pressure=%v", pressure), func(t *testing.T) {
			lt, err := NewLongTerm(ed25519.PrivateKey(fv.ServerLongtermSK))
			if err != nil {
				t.Fatal(err)
			}
			eph, _ := ecdh.X25519().NewPrivateKey(fv.ServerEphemeralSK)
			eq(t, "server eph pk", eph.PublicKey().Bytes(), fv.ServerEphemeralPK)
			s, err := NewStateWithEphemeral(&k, lt, nil, fv.ServerEphemeralSK)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "server eph pk (fixed-base)", s.ephPub[:], fv.ServerEphemeralPK)
			rw := &scripted{in: bytes.NewReader(append(append([]byte{}, fv.Msg1...), fv.Msg3...))}
			var seen ed25519.PublicKey
			ctx := stack.WithPressure(context.Background(), func() bool { return pressure })
			keys, err := Server(ctx, rw, s, func(_ context.Context, pk ed25519.PublicKey) error {
				seen = pk
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "authorized key", seen, fv.ClientLongtermPK)
			eq(t, "msg2||msg4", rw.out.Bytes(), append(append([]byte{}, fv.Msg2...), fv.Msg4...))
			eq(t, "server outcome", keys.Outcome(), fv.ServerOutcome.bytes())
		})
	}
}

// TestServerDefersUnderPressure: a client that sends its hello, reads the
// answer and stalls costs a server under pressure no scalar
// multiplication; otherwise the server computes ab and aB while it waits.
func TestServerDefersUnderPressure(t *testing.T) {
	fv := loadFull(t)
	var k [32]byte
	copy(k[:], fv.NetworkIdentifier)
	lt, err := NewLongTerm(ed25519.PrivateKey(fv.ServerLongtermSK))
	if err != nil {
		t.Fatal(err)
	}
	for _, pressure := range []bool{false, true} {
		s, err := NewStateWithEphemeral(&k, lt, nil, fv.ServerEphemeralSK)
		if err != nil {
			t.Fatal(err)
		}
		rw := &scripted{in: bytes.NewReader(fv.Msg1)} // then EOF: the client stalled
		ctx := stack.WithPressure(context.Background(), func() bool { return pressure })
		if _, err := Server(ctx, rw, s, nil); err == nil {
			t.Fatalf("pressure=%v: handshake without msg3 succeeded", pressure)
		}
		eq(t, "msg2", rw.out.Bytes(), fv.Msg2)
		if computed := s.haveAB || s.ab != [32]byte{}; computed == pressure {
			t.Errorf("pressure=%v: ab or aB computed before msg3: %v", pressure, computed)
		}
	}
}

func TestKeyChecks(t *testing.T) {
	// Small-order and otherwise invalid Ed25519 encodings (libsodium's
	// blacklist plus non-canonical forms) must all be refused.
	bad := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"0000000000000000000000000000000000000000000000000000000000000080", // order 4, sign bit
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p (non-canonical)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1 (non-canonical identity)
		"0200000000000000000000000000000000000000000000000000000000000000", // not on the curve
	}
	for _, h := range bad {
		pk, _ := hex.DecodeString(h)
		if ValidPublicKey(pk) {
			t.Errorf("accepted %s", h)
		}
	}
	// A valid key plus a point of order 8 is outside the prime-order subgroup.
	pub, _, _ := ed25519.GenerateKey(nil)
	if !ValidPublicKey(pub) {
		t.Fatal("rejected a fresh key")
	}
	mixed := mixedOrder(t, pub)
	if ValidPublicKey(mixed) {
		t.Error("accepted a key with a torsion component")
	}
	if ValidPublicKey(pub[:31]) {
		t.Error("accepted a short key")
	}
}

func TestNewLongTermRejectsMismatch(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	bad := append(ed25519.PrivateKey(nil), priv...)
	bad[40] ^= 1
	if _, err := NewLongTerm(bad); !errors.Is(err, ErrBadPrivateKey) {
		t.Errorf("mismatched halves: got %v", err)
	}
	if _, err := NewLongTerm(priv[:32]); !errors.Is(err, ErrBadPrivateKey) {
		t.Errorf("short key: got %v", err)
	}
}

func TestStreamKeyFormula(t *testing.T) {
	var kk [32]byte
	kk[0] = 1
	pub := bytes.Repeat([]byte{2}, 32)
	want := sha256.Sum256(append(kk[:], pub...))
	if got := streamKey(&kk, pub); got != want {
		t.Fatal("streamKey differs from sha256(kk||pub)")
	}
}

// mixedOrder returns pub plus a point of order 8.
func mixedOrder(t *testing.T, pub []byte) []byte {
	t.Helper()
	t8b, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	t8, err := new(edwards25519.Point).SetBytes(t8b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		t.Fatal(err)
	}
	return new(edwards25519.Point).Add(p, t8).Bytes()
}
