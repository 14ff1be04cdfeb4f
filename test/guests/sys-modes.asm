; sys-modes.asm: protected -> real -> protected mode switches (SDM Vol. 3, 9.9.2 "Switching
; Back to Real-Address Mode", 9.9.1 "Switching to Protected Mode").
;
; Proves: from 32-bit protected mode the guest far-jumps to 16-bit protected-mode code, loads
; 64 KiB data segments, clears CR0.PE and far-jumps to real mode (CS = 0x0800); there segment
; arithmetic is selector*16 + offset (a store through DS = 0x0900 at 0x0010 lands at linear
; 0x9010), the UART is driven with 16-bit code, and setting CR0.PE plus a far JMP returns to
; 32-bit protected mode with the GDT still loaded.
; Expected serial output:
;   leaving protected mode
;   in real mode
;   back in protected mode: real-mode store 0x00005678 at 0x00009010, CR0 in real mode 0x00000010
;   modes done
; Exit: debug-exit 0x23, emulator status 71.
;
; Build: nasm -f bin -I test/guests/ -o sys-modes.bin test/guests/sys-modes.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"
%include "sys-common.inc"

EXIT_OK         equ 0x23
LOW_CODE        equ 0x8000          ; the 16-bit code runs from here (CS 0x0800 in real mode)
RM_CR0          equ 0x7ff0          ; real-mode code stores CR0 here (linear)

main:
        call serial_init
        call sys_setup
        PRINT `leaving protected mode\r\n`
        mov esi, rm_blob
        mov edi, LOW_CODE
        mov ecx, rm_blob_end - rm_blob
        rep movsb
        mov [saved_esp], esp
        jmp SEL_CODE16:LOW_CODE + (pm16_entry - rm_blob)

pm_back:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, [saved_esp]
        PRINT "back in protected mode: real-mode store "
        movzx eax, word [0x9010]
        call serial_put_hex32
        PRINT " at 0x00009010, CR0 in real mode "
        mov eax, [RM_CR0]
        and eax, 0x8000001f
        call serial_put_hex32
        PRINT `\r\n`
        PRINT `modes done\r\n`
        DEBUG_EXIT EXIT_OK

saved_esp: dd 0

; ---- 16-bit code, copied to LOW_CODE; addresses inside it are relative to rm_blob.
        bits 16
rm_blob:
pm16_entry:
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov eax, cr0
        and eax, ~1
        mov cr0, eax
        jmp (LOW_CODE >> 4):(rm_entry - rm_blob)
rm_entry:
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ax, cs
        mov ds, ax
        mov si, rm_text - rm_blob
.puts:  lodsb
        test al, al
        jz .done
        mov ah, al
        mov dx, UART_LSR
.wait:  in al, dx
        test al, UART_LSR_THRE
        jz .wait
        mov al, ah
        mov dx, UART_THR
        out dx, al
        jmp .puts
.done:
        mov ax, 0x0900
        mov ds, ax
        mov word [0x0010], 0x5678
        xor ax, ax
        mov ds, ax
        mov eax, cr0
        mov [RM_CR0], eax
        or eax, 1
        mov cr0, eax
        jmp dword SEL_CODE32:pm_back
rm_text: db `in real mode\r\n`, 0
rm_blob_end:
        bits 32

MULTIBOOT_IMAGE_END
