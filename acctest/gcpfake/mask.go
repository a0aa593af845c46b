package gcpfake

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// applyPath copies the field at a dotted update-mask path from src to dst; a field unset in src is
// cleared in dst, as an update mask means.
func applyPath(dst, src proto.Message, path string) error {
	d, sm := dst.ProtoReflect(), src.ProtoReflect()
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		fd := field(d.Descriptor(), seg)
		if fd == nil {
			return invalid("Invalid update_mask path %q: no field %q.", path, seg)
		}
		if i == len(segs)-1 {
			if sm.Has(fd) {
				d.Set(fd, sm.Get(fd))
			} else {
				d.Clear(fd)
			}
			return nil
		}
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return invalid("Invalid update_mask path %q: %q has no subfields.", path, seg)
		}
		sm = sm.Get(fd).Message()
		d = d.Mutable(fd).Message()
	}
	return nil
}

// protoPath spells a dotted update-mask path with proto field names (a path may use JSON names).
func protoPath(m proto.Message, path string) (string, error) {
	md := m.ProtoReflect().Descriptor()
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		if md == nil {
			return "", invalid("Invalid update_mask path %q: %q has no subfields.", path, segs[i-1])
		}
		fd := field(md, seg)
		if fd == nil {
			return "", invalid("Invalid update_mask path %q: no field %q.", path, seg)
		}
		segs[i] = string(fd.Name())
		md = nil
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			md = fd.Message()
		}
	}
	return strings.Join(segs, "."), nil
}

// field finds a field by its proto or JSON name.
func field(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(name)
}

// page returns one page of items from the offset in token and the next page's token.
func page[T any](items []T, size int32, token string) ([]T, string, error) {
	off := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", invalid("Invalid page_token %q.", token)
		}
		off = n
	}
	if size <= 0 || size > 1000 {
		size = 1000
	}
	end := min(off+int(size), len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

// clone is proto.Clone keeping the type.
func clone[T proto.Message](m T) T {
	c, _ := proto.Clone(m).(T)
	return c
}
