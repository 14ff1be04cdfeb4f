; sys-v86.asm: virtual-8086 mode (SDM Vol. 3, chapter 20; no VME): entry by IRETD with
; EFLAGS.VM, IOPL-sensitive instructions faulting to a ring-0 #GP handler, I/O checked
; against the TSS bitmap, and IRETD back into the mode.
;
; Proves: the IRETD frame (GS FS DS ES SS ESP EFLAGS CS EIP) enters the mode at 0800:0000
; with real-mode segment arithmetic (a store through DS = 0x0900 lands at linear 0x9100);
; with IOPL 0, CLI and INT n are #GP(0), and IN is #GP(0) because the TSS has no I/O bitmap;
; the handler sees VM=1 in the pushed EFLAGS and the mode's DS (0x0900) in the frame while
; its own DS was zeroed, skips the instruction and IRETDs back; HLT (#GP at CPL 3) ends it.
; Expected serial output:
;   v86 #GP err=0x00000000 at 0x00000800:0x0000000a opcode=0xfa VM=1 frame DS=0x00000900 DS=0x00000000
;   v86 #GP err=0x00000000 at 0x00000800:0x0000000b opcode=0xcd VM=1 frame DS=0x00000900 DS=0x00000000
;   v86 #GP err=0x00000000 at 0x00000800:0x0000000d opcode=0xe4 VM=1 frame DS=0x00000900 DS=0x00000000
;   v86 #GP err=0x00000000 at 0x00000800:0x0000000f opcode=0xf4 VM=1 frame DS=0x00000900 DS=0x00000000
;   v86 store 0x00001234 at 0x00009100
;   v86 done
; Exit: debug-exit 0x24, emulator status 73.
;
; This host's KVM (PVM) does not run it: PVM emulates guest CPL 0 and fails on the IRETD
; that enters the mode (KVM_EXIT_INTERNAL_ERROR, emulation failure); system-guests.test.ts
; runs it under tcg only.
;
; Build: nasm -f bin -I test/guests/ -o sys-v86.bin test/guests/sys-v86.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "sys-common.inc"

EXIT_OK         equ 0x24
LOW_CODE        equ 0x8000          ; CS 0x0800, IP 0

main:
        call serial_init
        call sys_setup
        mov dword [sys_tss_a + 4], kstack_top
        mov dword [sys_tss_a + 8], SEL_DATA32
        mov word [sys_tss_a + 0x66], 0x68   ; bitmap offset = limit + 1: no bitmap
        mov ax, SEL_TSS_A
        ltr ax
        SET_GATE 13, v86_gp, SEL_CODE32, 0x8e
        mov esi, v86_blob
        mov edi, LOW_CODE
        mov ecx, v86_blob_end - v86_blob
        rep movsb
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword 0x0900               ; DS
        push dword 0                    ; ES
        push dword 0x0700               ; SS
        push dword 0x0ffe               ; ESP
        push dword 0x00020002           ; EFLAGS: VM, IOPL 0
        push dword LOW_CODE >> 4        ; CS
        push dword 0                    ; EIP
        iretd

; #GP from the mode: frame after PUSHAD: err +32, EIP +36, CS +40, EFLAGS +44, ESP +48,
; SS +52, ES +56, DS +60, FS +64, GS +68.
v86_gp:
        pushad
        mov bx, ds
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        movzx ebx, bx                   ; DS as the handler found it
        PRINT "v86 #GP err="
        mov eax, [esp + 32]
        call serial_put_hex32
        PRINT " at "
        mov eax, [esp + 40]
        call serial_put_hex32
        PRINT ":"
        mov eax, [esp + 36]
        call serial_put_hex32
        PRINT " opcode="
        movzx ecx, word [esp + 40]
        shl ecx, 4
        add ecx, [esp + 36]
        movzx ecx, byte [ecx]
        mov eax, ecx
        call serial_put_hex8
        PRINT " VM="
        mov eax, [esp + 44]
        shr eax, 17
        and eax, 1
        call serial_put_dec
        PRINT " frame DS="
        mov eax, [esp + 60]
        call serial_put_hex32
        PRINT " DS="
        mov eax, ebx
        call serial_put_hex32
        PRINT `\r\n`
        cmp cl, 0xf4
        je .finish
        mov eax, 1                      ; CLI
        cmp cl, 0xfa
        je .skip
        mov eax, 2                      ; INT n, IN AL, imm8
.skip:  add [esp + 36], eax
        popad
        add esp, 4
        iretd
.finish:
        PRINT "v86 store "
        movzx eax, word [0x9100]
        call serial_put_hex32
        PRINT ` at 0x00009100\r\n`
        PRINT `v86 done\r\n`
        DEBUG_EXIT EXIT_OK

        bits 16
v86_blob:
        mov ax, 0x1234
        mov [0x0100], ax
        mov bx, ss
        nop
        nop
        cli
        int 0x30
        in al, 0x80
        hlt
v86_blob_end:
        bits 32

        align 16
kstack:         times 2048 db 0
kstack_top:

MULTIBOOT_IMAGE_END
