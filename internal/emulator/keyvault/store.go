package keyvault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store errors the server maps to Key Vault's answers.
var (
	ErrNotFound    = errors.New("secret not found")
	ErrDeleted     = errors.New("secret is deleted but recoverable")
	ErrNotDeleted  = errors.New("secret is not deleted")
	ErrPurgeDenied = errors.New("purge protection is enabled")
)

// Version is one version of a secret as stored.
type Version struct {
	ID          string            `json:"id"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   *int64            `json:"nbf,omitempty"`
	Expires     *int64            `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
}

// Secret is a secret's metadata: its name as first written, its versions
// oldest first and, when soft-deleted, the deletion.
type Secret struct {
	Name     string    `json:"name"`
	Versions []string  `json:"versions"`
	Deleted  *Deletion `json:"deleted,omitempty"`
}

// Latest is the newest version ID.
func (s *Secret) Latest() string { return s.Versions[len(s.Versions)-1] }

// Deletion records a soft delete.
type Deletion struct {
	DeletedDate        int64 `json:"deletedDate"`
	ScheduledPurgeDate int64 `json:"scheduledPurgeDate"`
}

// Store keeps every vault's secrets in one bbolt file: bucket per vault,
// sub-bucket per secret (lower-cased name, as Key Vault names are
// case-insensitive) holding "meta" and one "v/<id>" key per version.
type Store struct {
	db *bolt.DB
}

// OpenStore opens (or creates) the state file.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening Key Vault state %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the state file.
func (s *Store) Close() error { return s.db.Close() }

func secretBucket(tx *bolt.Tx, vault, name string, create bool) (*bolt.Bucket, error) {
	vk, nk := []byte(strings.ToLower(vault)), []byte(strings.ToLower(name))
	if create {
		vb, err := tx.CreateBucketIfNotExists(vk)
		if err != nil {
			return nil, err
		}
		return vb.CreateBucketIfNotExists(nk)
	}
	vb := tx.Bucket(vk)
	if vb == nil {
		return nil, nil
	}
	return vb.Bucket(nk), nil
}

func readMeta(b *bolt.Bucket) (*Secret, error) {
	raw := b.Get([]byte("meta"))
	if raw == nil {
		return nil, nil
	}
	var m Secret
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func readVersion(b *bolt.Bucket, id string) (*Version, error) {
	raw := b.Get([]byte("v/" + strings.ToLower(id)))
	if raw == nil {
		return nil, ErrNotFound
	}
	var v Version
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func put(b *bolt.Bucket, k string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(k), raw)
}

// expired reports whether a soft-deleted secret is past its purge date, at
// which point Key Vault purges it.
func expired(m *Secret, now time.Time) bool {
	return m.Deleted != nil && now.Unix() >= m.Deleted.ScheduledPurgeDate
}

// Set writes a new version.
func (s *Store) Set(vault, name string, v Version, now time.Time) (*Secret, *Version, error) {
	var meta *Secret
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := secretBucket(tx, vault, name, true)
		if err != nil {
			return err
		}
		m, err := readMeta(b)
		if err != nil {
			return err
		}
		if m != nil && m.Deleted != nil {
			if !expired(m, now) {
				return ErrDeleted
			}
			m = nil
			if err := clearBucket(b); err != nil {
				return err
			}
		}
		if m == nil {
			m = &Secret{Name: name}
		}
		v.ID = newVersion()
		v.Created, v.Updated = now.Unix(), now.Unix()
		m.Versions = append(m.Versions, v.ID)
		if err := put(b, "v/"+v.ID, v); err != nil {
			return err
		}
		meta = m
		return put(b, "meta", m)
	})
	if err != nil {
		return nil, nil, err
	}
	return meta, &v, nil
}

func clearBucket(b *bolt.Bucket) error {
	var keys [][]byte
	_ = b.ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Get reads a live secret's version ("" = latest).
func (s *Store) Get(vault, name, version string, now time.Time) (*Secret, *Version, error) {
	var (
		meta *Secret
		ver  *Version
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		_, m, v, err := liveVersion(tx, vault, name, version)
		if err != nil {
			return err
		}
		meta, ver = m, v
		return nil
	})
	return meta, ver, err
}

// Update changes a version's attributes, content type and tags (nil fields
// are left alone).
func (s *Store) Update(vault, name, version string, fn func(*Version), now time.Time) (*Secret, *Version, error) {
	var (
		meta *Secret
		ver  *Version
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, m, v, err := liveVersion(tx, vault, name, version)
		if err != nil {
			return err
		}
		fn(v)
		v.Updated = now.Unix()
		meta, ver = m, v
		return put(b, "v/"+v.ID, v)
	})
	return meta, ver, err
}

// Entry is a secret with its latest (or a listed) version, for listings.
type Entry struct {
	Secret  *Secret
	Version *Version
}

// List returns every live secret with its latest version (deleted=false),
// or every soft-deleted one (deleted=true), sorted by name.
func (s *Store) List(vault string, deleted bool, now time.Time) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		vb := tx.Bucket([]byte(strings.ToLower(vault)))
		if vb == nil {
			return nil
		}
		return vb.ForEachBucket(func(k []byte) error {
			b := vb.Bucket(k)
			m, err := readMeta(b)
			if err != nil || m == nil {
				return err
			}
			if (m.Deleted != nil) != deleted || expired(m, now) {
				return nil
			}
			v, err := readVersion(b, m.Latest())
			if err != nil {
				return err
			}
			out = append(out, Entry{m, v})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Secret.Name) < strings.ToLower(out[j].Secret.Name) })
	return out, err
}

// Versions lists every version of a live secret.
func (s *Store) Versions(vault, name string) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		b, m, err := liveSecret(tx, vault, name)
		if err != nil {
			return err
		}
		for _, id := range m.Versions {
			v, err := readVersion(b, id)
			if err != nil {
				return err
			}
			out = append(out, Entry{m, v})
		}
		return nil
	})
	return out, err
}

// Delete soft-deletes a secret for retention (or purges it at once when
// retention is zero: a vault without soft delete).
func (s *Store) Delete(vault, name string, retention time.Duration, now time.Time) (*Secret, *Version, error) {
	var (
		meta *Secret
		ver  *Version
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, m, err := liveSecret(tx, vault, name)
		if err != nil {
			return err
		}
		v, err := readVersion(b, m.Latest())
		if err != nil {
			return err
		}
		meta, ver = m, v
		if retention == 0 {
			return tx.Bucket([]byte(strings.ToLower(vault))).DeleteBucket([]byte(strings.ToLower(name)))
		}
		m.Deleted = &Deletion{DeletedDate: now.Unix(), ScheduledPurgeDate: now.Add(retention).Unix()}
		return put(b, "meta", m)
	})
	return meta, ver, err
}

// GetDeleted reads a soft-deleted secret.
func (s *Store) GetDeleted(vault, name string, now time.Time) (*Secret, *Version, error) {
	var (
		meta *Secret
		ver  *Version
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b, m, err := deletedSecret(tx, vault, name, now)
		if errors.Is(err, errNoBucket) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		v, err := readVersion(b, m.Latest())
		meta, ver = m, v
		return err
	})
	return meta, ver, err
}

// Recover undoes a soft delete.
func (s *Store) Recover(vault, name string, now time.Time) (*Secret, *Version, error) {
	var (
		meta *Secret
		ver  *Version
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, m, err := deletedSecret(tx, vault, name, now)
		if err != nil {
			return err
		}
		m.Deleted = nil
		v, err := readVersion(b, m.Latest())
		if err != nil {
			return err
		}
		meta, ver = m, v
		return put(b, "meta", m)
	})
	return meta, ver, err
}

// liveSecret finds a secret that exists and is not soft-deleted.
func liveSecret(tx *bolt.Tx, vault, name string) (*bolt.Bucket, *Secret, error) {
	b, _ := secretBucket(tx, vault, name, false)
	if b == nil {
		return nil, nil, ErrNotFound
	}
	m, err := readMeta(b)
	if err != nil {
		return nil, nil, err
	}
	if m == nil || m.Deleted != nil {
		return nil, nil, ErrNotFound
	}
	return b, m, nil
}

// liveVersion finds a version ("" = latest) of a live secret.
func liveVersion(tx *bolt.Tx, vault, name, version string) (*bolt.Bucket, *Secret, *Version, error) {
	b, m, err := liveSecret(tx, vault, name)
	if err != nil {
		return nil, nil, nil, err
	}
	if version == "" {
		version = m.Latest()
	}
	v, err := readVersion(b, version)
	if err != nil {
		return nil, nil, nil, err
	}
	return b, m, v, nil
}

// errNoBucket wraps ErrNotDeleted when the vault holds no such secret at
// all, for callers that answer "not found" then.
var errNoBucket = fmt.Errorf("%w: no such secret", ErrNotDeleted)

// deletedSecret finds a soft-deleted secret whose retention has not run
// out, or says why not.
func deletedSecret(tx *bolt.Tx, vault, name string, now time.Time) (*bolt.Bucket, *Secret, error) {
	b, _ := secretBucket(tx, vault, name, false)
	if b == nil {
		return nil, nil, errNoBucket
	}
	m, err := readMeta(b)
	if err != nil {
		return nil, nil, err
	}
	if m == nil || m.Deleted == nil || expired(m, now) {
		return nil, nil, ErrNotDeleted
	}
	return b, m, nil
}

// Purge removes a soft-deleted secret for good.
func (s *Store) Purge(vault, name string, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, _, err := deletedSecret(tx, vault, name, now); err != nil {
			return err
		}
		return tx.Bucket([]byte(strings.ToLower(vault))).DeleteBucket([]byte(strings.ToLower(name)))
	})
}

// Exists reports whether the vault holds the secret in any state.
func (s *Store) Exists(vault, name string) (bool, error) {
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		b, _ := secretBucket(tx, vault, name, false)
		if b != nil {
			m, err := readMeta(b)
			found = m != nil
			return err
		}
		return nil
	})
	return found, err
}

func newVersion() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
