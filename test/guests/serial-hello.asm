; serial-hello.asm: the smallest Multiboot guest; proves the Multiboot loader and COM1.
;
; Proves: the a.out-kludge image is loaded at 1 MiB and entered in 32-bit protected mode with
; EAX = 0x2BADB002 and EBX pointing at the Multiboot information, the command line reaches
; the guest, COM1 output works, and isa-debug-exit ends the run with the guest's status.
;
; Expected serial output (the cmdline line only when the loader passes one, e.g. --append):
;   hello from a multiboot guest
;   cmdline: <the command line>
; Exit: debug-exit 0x10, emulator status 33. A wrong magic prints "bad multiboot magic" and
; exits with 0x7f (status 255).
;
; Build: nasm -f bin -I test/guests/ -o serial-hello.bin test/guests/serial-hello.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK equ 0x10

main:
        mov ebp, eax                    ; keep the magic; serial routines preserve EBX/EBP
        call serial_init
        mov esi, msg_hello
        call serial_puts

        cmp ebp, MB_BOOTLOADER_MAGIC
        je .magic_ok
        mov esi, msg_bad_magic
        call serial_puts
        DEBUG_EXIT EXIT_FAILURE
.magic_ok:
        ; Only trust info->cmdline when the loader says it filled it in.
        test dword [ebx + MB_INFO_FLAGS], MB_INFO_HAS_CMDLINE
        jz .done
        mov esi, msg_cmdline
        call serial_puts
        mov esi, [ebx + MB_INFO_CMDLINE]    ; physical address of a NUL-terminated string
        call serial_puts
        mov esi, msg_crlf
        call serial_puts
.done:
        DEBUG_EXIT EXIT_OK

msg_hello:      db `hello from a multiboot guest\r\n`, 0
msg_bad_magic:  db `bad multiboot magic\r\n`, 0
msg_cmdline:    db `cmdline: `, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
