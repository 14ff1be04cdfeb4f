; sys-task.asm: hardware task switches (SDM Vol. 3, 7.3): JMP to a TSS, an interrupt through
; a task gate in the IDT and IRET back through the back-link, and #TS for a bad TSS.
;
; Proves: a JMP far to a TSS descriptor (SEL_TSS_B) switches to task B without nesting (NT=0),
; and B's JMP back to task A resumes A right after its JMP (A's EIP was saved in its TSS);
; INT 0x40 through a task gate runs task B nested (NT=1, back-link = task A's selector) and
; B's IRET returns to A after the INT; a JMP to a TSS whose limit is below 0x67 is
; #TS(selector). CR0.TS is set by the switches.
; Expected serial output:
;   TS small TSS vector=10 err=0x00000040
;   task B via JMP: TR=0x00000030 NT=0x00000000
;   back in task A: TR=0x00000028 marker=0x00000001
;   task B via task gate: NT=0x00000001 link=0x00000028
;   back in task A after IRET: TR=0x00000028 NT=0x00000000 TS=0x00000008
;   tasks done
; Exit: debug-exit 0x22, emulator status 69.
;
; This host's KVM (PVM) does not run it: PVM emulates guest CPL 0 and fails on the far JMP
; to a TSS (KVM_EXIT_INTERNAL_ERROR, emulation failure); system-guests.test.ts runs it under
; tcg only.
;
; Build: nasm -f bin -I test/guests/ -o sys-task.bin test/guests/sys-task.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "sys-common.inc"

EXIT_OK         equ 0x22

main:
        call serial_init
        call sys_setup
        mov ax, SEL_TSS_A
        ltr ax

        EXPECT_FAULT .ts
        jmp SEL_TSS_SMALL:0
.ts:    mov esi, m_ts
        call sys_report

        mov eax, task_b_jmp
        call init_tss_b
        jmp SEL_TSS_B:0
        PRINT "back in task A: TR="
        call print_tr
        PRINT " marker="
        mov eax, [marker]
        call serial_put_hex32
        PRINT `\r\n`

        mov eax, task_b_gate
        call init_tss_b
        SET_GATE 0x40, 0, SEL_TSS_B, 0x85
        int 0x40
        PRINT "back in task A after IRET: TR="
        call print_tr
        PRINT " NT="
        call print_nt
        PRINT " TS="
        mov eax, cr0
        and eax, 8
        call serial_put_hex32
        PRINT `\r\n`
        PRINT `tasks done\r\n`
        DEBUG_EXIT EXIT_OK

task_b_jmp:
        PRINT "task B via JMP: TR="
        call print_tr
        PRINT " NT="
        call print_nt
        PRINT `\r\n`
        mov dword [marker], 1
        jmp SEL_TSS_A:0

task_b_gate:
        PRINT "task B via task gate: NT="
        call print_nt
        PRINT " link="
        movzx eax, word [sys_tss_b]
        call serial_put_hex32
        PRINT `\r\n`
        iretd

; Task B's TSS: EIP = EAX, flat ring-0 segments, its own stack, interrupts off.
init_tss_b:
        mov dword [sys_tss_b + 0x20], eax
        mov dword [sys_tss_b + 0x24], 0x2
        mov dword [sys_tss_b + 0x38], task_b_stack_top
        mov word [sys_tss_b + 0x48], SEL_DATA32
        mov word [sys_tss_b + 0x4c], SEL_CODE32
        mov word [sys_tss_b + 0x50], SEL_DATA32
        mov word [sys_tss_b + 0x54], SEL_DATA32
        mov word [sys_tss_b + 0x58], SEL_DATA32
        mov word [sys_tss_b + 0x5c], SEL_DATA32
        mov word [sys_tss_b + 0x60], 0
        mov word [sys_tss_b + 0x66], 0x68
        mov eax, cr3
        mov [sys_tss_b + 0x1c], eax
        ret

print_tr:
        push eax
        xor eax, eax
        str ax
        call serial_put_hex32
        pop eax
        ret

print_nt:
        push eax
        pushfd
        pop eax
        and eax, 0x4000
        shr eax, 14
        call serial_put_hex32
        pop eax
        ret

m_ts:   db "TS small TSS", 0
marker: dd 0
        align 16
task_b_stack:   times 1024 db 0
task_b_stack_top:

MULTIBOOT_IMAGE_END
