package bundle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	byteorder "encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/git-vsync/git-vsync/internal/vault"
)

// How a vault becomes archive entries fast (issue 15):
//
//   - Only what shrinks is compressed: deflate (at the fastest level) of the
//     first sampleSize bytes of a file must save at least a tenth, or the file is
//     stored (method 0) as it is. Certificates, keystores and binaries do not
//     shrink, and deflating them only costs time. A file whose deflated form is not
//     smaller than itself is stored as well.
//   - Files up to memFileMax are read, hashed, checked and compressed by a pool of
//     workers (one per CPU; one for a vault of at most smallVault bytes, each
//     making its deflate tables for the first file it samples) while the archive
//     is written in order, sealed and saved by the caller. Their entries are
//     written whole with sizes and CRC in the header (no data descriptor), as
//     Info-ZIP's zip writes them.
//   - Larger files are streamed in order: deflated with a data descriptor when the
//     sample shrinks, else stored after a first pass that computes the CRC (the
//     header must hold it); a file that changes between the passes fails the push.
//
// Memory: at most 2·workers+2 prepared files of ≤ memFileMax (twice, compressed)
// wait for the writer.
const (
	memFileMax = 1 << 20
	sampleSize = 32 << 10
	level      = flate.BestSpeed
)

// shrinks reports whether c, deflated from p, saves enough to be worth it.
func shrinks(p, c []byte) bool { return len(c) < len(p)-len(p)/10 }

// prepared is a vault file made ready for the archive by a worker.
type prepared struct {
	hdr     *zip.FileHeader // nil: stream the file in order (it is large)
	body    []byte          // the entry's bytes as stored
	size    int64
	sum     string
	err     error
	bufs    *packBufs
	large   bool
	release func() // frees the slot of this file for the next one
}

type packBufs struct{ data, comp bytes.Buffer }

var bufPool = sync.Pool{New: func() any { return new(packBufs) }}

// packer prepares files concurrently and hands them out in order.
type packer struct {
	vaultDir, root string
	hash           bool // compute each file's SHA-256 (the sync state's; a backup needs none)
	files          []vault.File
	results        []chan prepared
	done           chan struct{}
}

func newPacker(vaultDir, root string, files []vault.File, hash bool) *packer {
	p := &packer{vaultDir: vaultDir, root: root, hash: hash, files: files, results: make([]chan prepared, len(files)), done: make(chan struct{})}
	workers := packWorkers(files)
	tokens := make(chan struct{}, 2*workers+2)
	jobs := make(chan int)
	for i := range files {
		if !files[i].Dir {
			p.results[i] = make(chan prepared, 1)
		}
	}
	go func() {
		defer close(jobs)
		for i := range files {
			if files[i].Dir {
				continue
			}
			select {
			case tokens <- struct{}{}:
			case <-p.done:
				return
			}
			select {
			case jobs <- i:
			case <-p.done:
				return
			}
		}
	}()
	for range workers {
		go func() {
			var fw *flate.Writer // made for the first file sampled: ~1 MB of tables
			for {
				select {
				case i, ok := <-jobs:
					if !ok {
						return
					}
					r := p.prepare(&files[i], &fw)
					r.release = func() { <-tokens }
					p.results[i] <- r
				case <-p.done:
					return
				}
			}
		}()
	}
	return p
}

// smallVault is the size up to which a vault is prepared by one worker: its
// files take well under a millisecond to read and deflate, less than a second
// worker's start and its own deflate tables cost (fresh memory, which a process
// that lives a fraction of a second pays for in page faults).
const smallVault = 256 << 10

// packWorkers is the number of workers preparing files: one per CPU, one for a
// small vault.
func packWorkers(files []vault.File) int {
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if total <= smallVault {
		return 1
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// next waits for file i (not a folder).
func (p *packer) next(i int) prepared { return <-p.results[i] }

// stop ends the workers; prepared files not taken are dropped.
func (p *packer) stop() { close(p.done) }

func (p *packer) prepare(f *vault.File, fwp **flate.Writer) prepared {
	src, err := vault.Open(p.vaultDir, f.Path)
	if err != nil {
		return prepared{err: err}
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return prepared{err: err}
	}
	if fi.Size() > memFileMax {
		return prepared{large: true}
	}
	b := bufPool.Get().(*packBufs)
	b.data.Reset()
	b.comp.Reset()
	if _, err := b.data.ReadFrom(io.LimitReader(onlyReader{src}, memFileMax+1)); err != nil {
		bufPool.Put(b)
		return prepared{err: fmt.Errorf("archive vault file %q: %w", f.Path, err)}
	}
	data := b.data.Bytes()
	if len(data) > memFileMax { // grew since the stat
		bufPool.Put(b)
		return prepared{large: true}
	}
	var sum string
	if p.hash {
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
	}
	method, body := zip.Store, data
	if len(data) > 0 && *fwp == nil {
		*fwp, _ = flate.NewWriter(io.Discard, level)
	}
	fw := *fwp
	if len(data) > 0 && deflateTo(&b.comp, fw, data[:min(len(data), sampleSize)]) == nil && shrinks(data[:min(len(data), sampleSize)], b.comp.Bytes()) {
		if len(data) > sampleSize {
			b.comp.Reset()
			if err := deflateTo(&b.comp, fw, data); err != nil {
				bufPool.Put(b)
				return prepared{err: err}
			}
		}
		if b.comp.Len() < len(data) {
			method, body = zip.Deflate, b.comp.Bytes()
		}
	}
	hdr := rawHeader(p.root+"/"+f.Path, fi.ModTime(), method, crc32.ChecksumIEEE(data), len(body), len(data))
	return prepared{hdr: hdr, body: body, size: int64(len(data)), sum: sum, bufs: b}
}

func deflateTo(dst *bytes.Buffer, fw *flate.Writer, p []byte) error {
	fw.Reset(dst)
	if _, err := fw.Write(p); err != nil {
		return err
	}
	return fw.Close()
}

// rawHeader is the header that zip.Writer.CreateHeader would make of header(name,
// false, mod) (same flags, versions, times and extended timestamp), with the method,
// CRC and sizes known up front, for zip.Writer.CreateRaw.
func rawHeader(name string, mod time.Time, method uint16, crc uint32, compSize, size int) *zip.FileHeader {
	h := header(name, false, mod)
	h.Method = method
	h.CRC32 = crc
	h.CompressedSize64, h.UncompressedSize64 = uint64(compSize), uint64(size)
	if needsUTF8Flag(name) {
		h.Flags |= 0x800
	}
	h.CreatorVersion = h.CreatorVersion&0xff00 | 20
	h.ReaderVersion = 20
	m := h.Modified
	// The raw header is written as is: its MS-DOS date and time fields are ours to fill.
	//lint:ignore SA1019 CreateRaw writes these legacy fields verbatim
	h.ModifiedDate = uint16(m.Day() + int(m.Month())<<5 + (m.Year()-1980)<<9)
	//lint:ignore SA1019 CreateRaw writes these legacy fields verbatim
	h.ModifiedTime = uint16(m.Second()/2 + m.Minute()<<5 + m.Hour()<<11)
	var ext [9]byte // extended timestamp (0x5455): modification time, UTC seconds
	byteorder.LittleEndian.PutUint16(ext[0:], 0x5455)
	byteorder.LittleEndian.PutUint16(ext[2:], 5)
	ext[4] = 1
	byteorder.LittleEndian.PutUint32(ext[5:], uint32(m.Unix()))
	h.Extra = append(h.Extra, ext[:]...)
	return h
}

// needsUTF8Flag is archive/zip's rule for setting the UTF-8 flag on a valid
// UTF-8 name: a character outside the ASCII range CP-437 readers agree on.
func needsUTF8Flag(name string) bool {
	for _, r := range name {
		if r < 0x20 || r > 0x7d || r == 0x5c {
			return true
		}
	}
	return false
}

// writeLarge streams a file above memFileMax into the archive in order.
func writeLarge(zw *zip.Writer, vaultDir, name string, f *vault.File, buf []byte) error {
	src, err := vault.Open(vaultDir, f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	var mod time.Time
	if fi, err := src.Stat(); err == nil {
		mod = fi.ModTime()
	}
	sample := make([]byte, sampleSize)
	k, err := io.ReadFull(src, sample)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("archive vault file %q: %w", f.Path, err)
	}
	sample = sample[:k]
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(io.Discard, level)
	h := sha256.New()
	if deflateTo(&comp, fw, sample) == nil && shrinks(sample, comp.Bytes()) {
		ew, err := zw.CreateHeader(header(name, false, mod))
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(io.MultiWriter(ew, h), io.MultiReader(bytes.NewReader(sample), onlyReader{src}), buf)
		if err != nil {
			return fmt.Errorf("archive vault file %q: %w", f.Path, err)
		}
		f.Size, f.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		return nil
	}
	// Stored: the CRC goes into the header, so it is computed in a first pass.
	crc := crc32.NewIEEE()
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	n1, err := io.CopyBuffer(crc, onlyReader{src}, buf)
	if err != nil {
		return fmt.Errorf("archive vault file %q: %w", f.Path, err)
	}
	sum1 := crc.Sum32()
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ew, err := zw.CreateRaw(rawHeader(name, mod, zip.Store, sum1, int(n1), int(n1)))
	if err != nil {
		return err
	}
	crc.Reset()
	n2, err := io.CopyBuffer(io.MultiWriter(ew, h, crc), io.LimitReader(onlyReader{src}, n1+1), buf)
	if err != nil {
		return fmt.Errorf("archive vault file %q: %w", f.Path, err)
	}
	if n2 != n1 || crc.Sum32() != sum1 {
		return fmt.Errorf("vault file %q changed while it was archived; run the command again", f.Path)
	}
	f.Size, f.SHA256 = n2, hex.EncodeToString(h.Sum(nil))
	return nil
}
