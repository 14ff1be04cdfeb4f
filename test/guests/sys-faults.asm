; sys-faults.asm: protected-mode faults with their error codes (SDM Vol. 3, 6.13, 6.15).
;
; Proves: segment loads fault with the selector as error code (#GP past the GDT limit, #GP for
; execute-only code into DS, #NP for an absent data segment, #SS for an absent stack
; segment), and a null FS faults #GP(0) on use. (#TS is in sys-task.asm, as it needs a task
; switch; #PF in sys-pagefault.asm.)
; QEMU's TCG (qemu-system-i386 7.2) does not fault on the null FS use and
; prints "GP null FS: no fault"; a real CPU (KVM) and tsemu fault.
; Expected serial output (each line "<case> vector=N err=0x........"):
;   GP past GDT limit vector=13 err=0x00000080
;   GP execute-only DS vector=13 err=0x00000058
;   GP null FS vector=13 err=0x00000000
;   NP absent ES vector=11 err=0x00000038
;   SS absent SS vector=12 err=0x00000038
;   faults done
; Exit: debug-exit 0x20, emulator status 65.
;
; Build: nasm -f bin -I test/guests/ -o sys-faults.bin test/guests/sys-faults.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "sys-common.inc"

EXIT_OK         equ 0x20

main:
        call serial_init
        call sys_setup

        EXPECT_FAULT .gp1
        mov ax, 0x80
        mov fs, ax
.gp1:   mov esi, m_gp1
        call sys_report

        EXPECT_FAULT .gp2
        mov ax, SEL_XCODE
        mov ds, ax
.gp2:   mov esi, m_gp2
        call sys_report

        EXPECT_FAULT .gp3
        xor eax, eax
        mov fs, ax
        mov eax, [fs:0]
.gp3:   mov esi, m_gp3
        call sys_report

        EXPECT_FAULT .np
        mov ax, SEL_ABSENT
        mov es, ax
.np:    mov esi, m_np
        call sys_report

        EXPECT_FAULT .ss
        mov ax, SEL_ABSENT
        mov ss, ax
.ss:    mov esi, m_ss
        call sys_report

        PRINT `faults done\r\n`
        DEBUG_EXIT EXIT_OK

m_gp1:  db "GP past GDT limit", 0
m_gp2:  db "GP execute-only DS", 0
m_gp3:  db "GP null FS", 0
m_np:   db "NP absent ES", 0
m_ss:   db "SS absent SS", 0

MULTIBOOT_IMAGE_END
