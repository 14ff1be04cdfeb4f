; mmio-hole.asm: an access to guest-physical memory that nothing decodes.
;
; Proves: a read from the MMIO hole at 0xd0000000 (no RAM, no device) returns all ones, as on
; a PC bus where nobody drives the data lines; a write there is dropped without harming the
; guest, and the following read still returns all ones. Paging is off under Multiboot, so
; the linear address is the physical address.
;
; Expected serial output:
;   mmio read: 0xffffffff
;   mmio read after write: 0xffffffff
; Exit: debug-exit 0x12, emulator status 37.
;
; Build: nasm -f bin -I test/guests/ -o mmio-hole.bin test/guests/mmio-hole.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK         equ 0x12
WRITE_PATTERN   equ 0x12345678

main:
        call serial_init

        mov eax, [MMIO_HOLE]
        mov esi, msg_read
        call serial_puts
        call serial_put_hex32
        mov esi, msg_crlf
        call serial_puts

        mov dword [MMIO_HOLE], WRITE_PATTERN
        mov eax, [MMIO_HOLE]
        mov esi, msg_read_after_write
        call serial_puts
        call serial_put_hex32
        mov esi, msg_crlf
        call serial_puts

        DEBUG_EXIT EXIT_OK

msg_read:               db `mmio read: `, 0
msg_read_after_write:   db `mmio read after write: `, 0
msg_crlf:               db `\r\n`, 0

MULTIBOOT_IMAGE_END
