import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SenderType } from '@cc/common';

@Entity('messages')
export class Message {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'conversation_id' }) conversationId: number;
  @Column({ name: 'sender_type', type: 'varchar' }) senderType: SenderType;
  @Column({ name: 'sender_id', type: 'int', nullable: true }) senderId: number | null;
  @Column({ type: 'text' }) text: string;
  @Column({ name: 'client_message_id', type: 'varchar', nullable: true }) clientMessageId: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
}
