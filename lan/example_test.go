package lan_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/go-multiserver/multiserver/lan"
	"github.com/go-multiserver/multiserver/msaddr"
)

// Seal makes the datagram ssb-lan sends; Open reads it and checks who
// signed it.
func ExampleSeal() {
	seed := sha256.Sum256([]byte("example"))
	key := ed25519.NewKeyFromSeed(seed[:])
	addr := msaddr.MustParse("net:192.168.1.5:8008~shs:" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))

	datagram, err := lan.Seal(addr, key, nil) // nil: the main network
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := lan.Open(datagram, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(datagram), p.Format, p.Verified, p.Address.Equal(addr))

	datagram[len(datagram)-1] ^= 1 // spoil the signature
	_, err = lan.Open(datagram, nil)
	fmt.Println(err)
	// Output:
	// 163 ssb-lan true true
	// lan: bad signature: not signed by the key in the address
}
