; sys-pagefault.asm: page faults report CR2 and the error code (SDM Vol. 3, 4.7, 6.15 #PF).
;
; Proves: with 32-bit paging (4 KiB pages identity-mapping 0-8 MiB) and CR0.WP, a read of a
; not-present page is #PF with error code 0 (P=0, W/R=0, U/S=0) and CR2 = the address; a
; write to a present read-only page is #PF with error code 3 (P=1, W/R=1) and CR2 = the
; address written.
; Expected serial output:
;   PF not present vector=14 err=0x00000000 cr2=0x00700000
;   PF read-only write vector=14 err=0x00000003 cr2=0x00701004
;   paging done
; Exit: debug-exit 0x21, emulator status 67.
;
; This host's KVM (PVM) does not run it: turning on CR0.PG from 32-bit protected mode raises
; #GP(0) ("unexpected exception vector=13" at the MOV CR0), and without an IDT the guest
; hangs there. system-guests.test.ts runs it under tcg only.
;
; Build: nasm -f bin -I test/guests/ -o sys-pagefault.bin test/guests/sys-pagefault.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "sys-common.inc"

EXIT_OK         equ 0x21
PAGE_DIR        equ 0x300000
PAGE_TABLES     equ 0x301000        ; two tables: 0-4 MiB and 4-8 MiB
NOT_PRESENT     equ 0x700000
READ_ONLY       equ 0x701000

main:
        call serial_init
        call sys_setup
        ; Identity-map 0-8 MiB with 4 KiB pages, one page absent and one read-only.
        mov edi, PAGE_TABLES
        mov eax, 0x003                  ; present, writable
        mov ecx, 2048
.pte:   stosd
        add eax, 0x1000
        loop .pte
        mov dword [PAGE_TABLES + (NOT_PRESENT >> 12) * 4], 0
        and dword [PAGE_TABLES + (READ_ONLY >> 12) * 4], ~2
        mov edi, PAGE_DIR
        xor eax, eax
        mov ecx, 1024
        rep stosd
        mov dword [PAGE_DIR], PAGE_TABLES + 3
        mov dword [PAGE_DIR + 4], PAGE_TABLES + 0x1000 + 3
        mov eax, PAGE_DIR
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000              ; PG | WP
        mov cr0, eax

        EXPECT_FAULT .pf1
        mov eax, [NOT_PRESENT]
.pf1:   mov esi, m_pf1
        call report_pf

        EXPECT_FAULT .pf2
        mov dword [READ_ONLY + 4], 1
.pf2:   mov esi, m_pf2
        call report_pf

        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax
        PRINT `paging done\r\n`
        DEBUG_EXIT EXIT_OK

; Like sys_report, with " cr2=..." before the line end.
report_pf:
        call serial_puts
        PRINT " vector="
        mov eax, [sys_last_vector]
        call serial_put_dec
        PRINT " err="
        mov eax, [sys_last_error]
        call serial_put_hex32
        PRINT " cr2="
        mov eax, cr2
        call serial_put_hex32
        PRINT `\r\n`
        ret

m_pf1:  db "PF not present", 0
m_pf2:  db "PF read-only write", 0

MULTIBOOT_IMAGE_END
